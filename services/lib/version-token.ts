// Version tokens: opaque, URL-safe strings naming a dataset version as, per partition, the next offset to apply.
// A view has applied a token once its position in every listed partition is at least the token's offset.
// Format (not a contract for users): `hs1.` + base64url(JSON { t: topic, i: topic id, p: { "<partition>": nextOffset } }).
// The topic id (Kafka's, new with each incarnation of a topic) tells a version of a deleted and recreated topic from
// one of today's; tokens of single writes and older tokens carry none.
import { HotstateError } from './errors.ts';

export interface VersionVector {
  readonly topic: string;
  /** The incarnation of the topic the offsets belong to, when known. */
  readonly topicId?: string | undefined;
  /** partition → next offset to apply (exclusive upper bound of what the version covers). */
  readonly positions: ReadonlyMap<number, number>;
}

const prefix = 'hs1.';

export function formatVersionToken(version: VersionVector): string {
  const p: Record<string, number> = {};
  for (const [partition, next] of [...version.positions].sort(([a], [b]) => a - b)) p[String(partition)] = next;
  const body = version.topicId === undefined ? { t: version.topic, p } : { t: version.topic, i: version.topicId, p };
  return prefix + Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

/** Why a version cannot be of the incarnation `topicId` of its topic; undefined when it can (or says nothing). */
export function otherIncarnation(version: VersionVector, topicId: string | undefined): string | undefined {
  if (version.topicId === undefined || topicId === undefined || version.topicId === topicId) return undefined;
  return `it is a version of an earlier incarnation of ${version.topic} (topic id ${version.topicId}; the topic was deleted and recreated since, now ${topicId})`;
}

/** The version a write created: the record at `offset` is covered once the position passes it. */
export function writeVersion(topic: string, partition: number, offset: number): VersionVector {
  return { topic, positions: new Map([[partition, offset + 1]]) };
}

const malformed = (token: string, why: string): HotstateError =>
  new HotstateError(
    'HOTSTATE_ERR_TOKEN_MALFORMED',
    `malformed version token ${JSON.stringify(token.length > 80 ? `${token.slice(0, 80)}...` : token)}: ${why}`,
  );

export function parseVersionToken(token: string): VersionVector {
  if (!token.startsWith(prefix)) throw malformed(token, `expected it to start with "${prefix}"`);
  const body = token.slice(prefix.length);
  if (body.length === 0 || body.length > 64 * 1024 || !/^[A-Za-z0-9_-]+$/.test(body))
    throw malformed(token, 'not base64url');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw malformed(token, 'payload is not JSON');
  }
  const { t, i, p } = (decoded ?? {}) as { t?: unknown; i?: unknown; p?: unknown };
  if (typeof t !== 'string' || t.length === 0) throw malformed(token, 'no topic');
  if (i !== undefined && (typeof i !== 'string' || !/^[A-Za-z0-9_=+/-]{1,64}$/.test(i)))
    throw malformed(token, 'the topic id is not an id');
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw malformed(token, 'no partition positions');
  const positions = new Map<number, number>();
  for (const [partition, next] of Object.entries(p)) {
    if (!/^(0|[1-9]\d{0,8})$/.test(partition))
      throw malformed(token, `partition ${JSON.stringify(partition)} is not a partition number`);
    if (typeof next !== 'number' || !Number.isSafeInteger(next) || next < 0)
      throw malformed(token, `offset of partition ${partition} is not a non-negative integer`);
    positions.set(Number(partition), next);
  }
  return { topic: t, ...(i === undefined ? {} : { topicId: i }), positions };
}
