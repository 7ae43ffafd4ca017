// A whole dataset as of one version: rebuilt from the topic (a version token, or "now"), or loaded from a snapshot
// file. Rebuilding applies the records exactly as a view does (poison skipped, the key-partition rule), so a diff
// or rollback computed here agrees with what views served at that version.
//
// The rollback window: a version can be rebuilt exactly only while compaction has not touched what came after it.
// The log cleaner never compacts records younger than the topic's min.compaction.lag.ms (nor the active segment),
// and it removes a record only once a newer record of the same key is in the compacted range. So a version is
// within the window when, in each partition, the record at its position is still there and was written less than
// min.compaction.lag.ms ago (less a margin): nothing after the version can then have displaced anything before it.
import { accessSync, constants } from 'node:fs';
import { HotstateError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { readSnapshotEntries, readSnapshotHeader, snapshotVersion } from '../snapshot/format.ts';
import { judgeSnapshot, safetyShare } from '../snapshot/verdict.ts';
import { readRange } from '../transport/read-range.ts';
import type { OffsetRange, TopicLayout, Transport } from '../transport/transport.ts';
import { formatVersionToken, otherIncarnation, parseVersionToken } from '../version-token.ts';
import { entrySchemaId } from '../store/entry.ts';
import { checkRecords, defaultRecordLimits } from '../core/poison.ts';
import { ViewData } from '../core/view-data.ts';
import type { WriterSchemas } from '../core/writer-schemas.ts';

export interface DatasetVersion {
  readonly topic: string;
  /** The incarnation of the topic the positions belong to. */
  readonly topicId: string;
  /** Per partition, the next offset: the version's token is formatVersionToken of these. */
  readonly positions: ReadonlyMap<number, number>;
  /** Key → packed entry (store/entry.ts) of every key that exists at the version. */
  readonly entries: ReadonlyMap<string, string>;
  /** `topic`, or the snapshot file it was loaded from. */
  readonly source: string;
}

/** What a side of a diff or a rollback target names: the topic's end now, a version token, or a snapshot file. */
export type VersionRef =
  | { readonly kind: 'now' }
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'snapshot'; readonly file: string };

export function parseVersionRef(text: string): VersionRef {
  if (text === 'now') return { kind: 'now' };
  if (text.startsWith('hs1.')) return { kind: 'token', token: text };
  try {
    accessSync(text, constants.R_OK);
  } catch (error) {
    throw new HotstateError(
      'HOTSTATE_ERR_CONFIG_INVALID',
      `${JSON.stringify(text)} is neither a version token (hs1.…), "now", nor a readable snapshot file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      { cause: error },
    );
  }
  return { kind: 'snapshot', file: text };
}

/** The topic as it is now: its layout, offsets and configuration, read once and shared by both sides. */
export interface TopicNow {
  readonly layout: TopicLayout;
  readonly offsets: readonly OffsetRange[];
  readonly configs: Readonly<Record<string, string>>;
}

export async function readTopicNow(transport: Transport, topic: string): Promise<TopicNow> {
  const layout = await transport.layout(topic);
  if (!layout) throw new HotstateError('HOTSTATE_ERR_RESOURCE_NOT_FOUND', `topic ${topic} does not exist`);
  const [offsets, configs] = await Promise.all([transport.offsets(topic), transport.topicConfigs(topic)]);
  return { layout, offsets, configs };
}

export const tokenOfVersion = (version: Pick<DatasetVersion, 'topic' | 'topicId' | 'positions'>): string =>
  formatVersionToken(version);

/** How sure a version must be of its topic's incarnation: a rollback writes, so its target must prove it. */
export interface LoadOptions {
  /** Refuse tokens that carry no topic id (made before versions knew their topic, or of a single write). */
  readonly requireTopicId?: boolean;
}

export async function loadDatasetVersion(
  transport: Transport,
  schemas: WriterSchemas,
  topic: string,
  ref: VersionRef,
  now: TopicNow,
  options: LoadOptions = {},
): Promise<DatasetVersion> {
  if (ref.kind === 'snapshot') return loadSnapshotVersion(schemas, topic, ref.file, now);
  const positions =
    ref.kind === 'now'
      ? new Map(now.offsets.map((p) => [p.partition, p.end]))
      : tokenPositions(topic, ref.token, now, options);
  const topicId = now.layout.topicId;
  const problems = await rollbackWindowProblems(transport, topic, positions, now);
  if (problems.length > 0) {
    throw new HotstateError(
      'HOTSTATE_ERR_VERSION_UNREACHABLE',
      `version ${formatVersionToken({ topic, topicId, positions })} cannot be rebuilt exactly from ${topic}; use a snapshot file of it (or of a later good version) instead:\n  - ${problems.join('\n  - ')}`,
    );
  }
  return {
    topic,
    topicId,
    positions,
    entries: await rebuildFromTopic(transport, schemas, topic, positions, now),
    source: 'topic',
  };
}

/** A token's positions, checked against the topic: it must name every partition and lie within each. */
function tokenPositions(topic: string, token: string, now: TopicNow, options: LoadOptions): Map<number, number> {
  const version = parseVersionToken(token);
  if (version.topic !== topic)
    throw new HotstateError('HOTSTATE_ERR_TOKEN_TOPIC', `version token is for topic ${version.topic}, not ${topic}`);
  const elsewhere = otherIncarnation(version, now.layout.topicId);
  if (elsewhere !== undefined)
    throw new HotstateError(
      'HOTSTATE_ERR_VERSION_UNREACHABLE',
      `version token cannot be read from ${topic}: ${elsewhere}`,
    );
  if (options.requireTopicId === true && version.topicId === undefined)
    throw new HotstateError(
      'HOTSTATE_ERR_VERSION_UNREACHABLE',
      `version token carries no topic id (a token of a single write, or made before versions named their topic's incarnation): it cannot prove it is a version of ${topic} as it is now, so it is not rolled back to; take the version from a view or a state service's hotstate-version header, or use a snapshot file`,
    );
  const missing = now.offsets.filter((p) => !version.positions.has(p.partition)).map((p) => p.partition);
  if (missing.length > 0) {
    throw new HotstateError(
      'HOTSTATE_ERR_INPUT_MALFORMED',
      `version token names no position for partition(s) ${missing.join(', ')} of ${topic}: a whole version names every partition (take it from a view: its version, a state service's hotstate-version header), not from a single write`,
    );
  }
  for (const { partition, end } of now.offsets) {
    const position = version.positions.get(partition) ?? 0;
    if (position > end)
      throw new HotstateError(
        'HOTSTATE_ERR_VERSION_UNREACHABLE',
        `version token is beyond the end of partition ${String(partition)} (${String(position)} > ${String(end)}): a token of another incarnation of ${topic}, or the topic was truncated`,
      );
  }
  const extra = [...version.positions.keys()].filter((p) => !now.offsets.some((o) => o.partition === p));
  if (extra.length > 0)
    throw new HotstateError(
      'HOTSTATE_ERR_VERSION_UNREACHABLE',
      `version token names partition(s) ${extra.join(', ')} that ${topic} does not have`,
    );
  return new Map(version.positions);
}

/** Why the topic can no longer give the version at `positions` exactly (see the rollback window above); empty when it can. */
export async function rollbackWindowProblems(
  transport: Transport,
  topic: string,
  positions: ReadonlyMap<number, number>,
  now: TopicNow,
  at = Date.now(),
): Promise<string[]> {
  const windowMs = Number(now.configs['min.compaction.lag.ms'] ?? 0);
  const oldestAllowed = at - windowMs * (1 - safetyShare);
  const problems: string[] = [];
  const after = new Map<number, number>(); // partitions with records after the version: their position
  for (const { partition, start, end } of now.offsets) {
    const position = positions.get(partition) ?? 0;
    if (start > 0)
      problems.push(
        `partition ${String(partition)} starts at offset ${String(start)}: records were deleted (retention or DeleteRecords), a version needs the log from offset 0`,
      );
    else if (position < end) after.set(partition, position);
  }
  if (after.size === 0 || problems.length > 0) return problems;
  const first = new Map<number, { offset: number; timestamp: number }>();
  await readRange(
    transport,
    topic,
    (chunk) => {
      const record = chunk.records[0];
      if (record && !first.has(chunk.partition)) first.set(chunk.partition, record);
    },
    {
      partitions: new Set(after.keys()),
      from: after,
      until: new Map([...after].map(([p, position]) => [p, position + 1])),
    },
  );
  for (const [partition, position] of after) {
    const record = first.get(partition);
    if (record?.offset !== position) {
      problems.push(
        `the record at offset ${String(position)} of partition ${String(partition)} was compacted away: compaction already ran past this version`,
      );
    } else if (record.timestamp < oldestAllowed) {
      problems.push(
        `partition ${String(partition)}: the records after this version were written ${new Date(record.timestamp).toISOString()}, longer ago than the rollback window (min.compaction.lag.ms=${String(windowMs)}, less a ${String(safetyShare * 100)}% margin): compaction may have removed records this version needs`,
      );
    }
  }
  return problems;
}

/** Applies the topic's records below `positions` as a view would, and returns the surviving entries. */
async function rebuildFromTopic(
  transport: Transport,
  schemas: WriterSchemas,
  topic: string,
  positions: ReadonlyMap<number, number>,
  now: TopicNow,
): Promise<Map<string, string>> {
  const data = new ViewData(topic, schemas, undefined, createLogger({ level: 'silent' }));
  data.reset(new Map(now.offsets.map((p) => [p.partition, p.start])));
  const limits = defaultRecordLimits;
  await readRange(
    transport,
    topic,
    async (chunk, end) => {
      const records = chunk.records.filter((record) => record.offset < end);
      const unknown = new Set<number>();
      let poison = checkRecords(records, schemas, limits, unknown);
      if (unknown.size > 0) {
        await schemas.settle(unknown);
        poison = checkRecords(records, schemas, limits);
      }
      data.apply([{ partition: chunk.partition, records, poison, next: Math.min(chunk.next, end) }], false);
    },
    { until: positions },
  );
  return new Map(data.appliedEntries());
}

async function loadSnapshotVersion(
  schemas: WriterSchemas,
  topic: string,
  file: string,
  now: TopicNow,
): Promise<DatasetVersion> {
  const { header } = await readSnapshotHeader(file);
  // The snapshot is a whole state in itself: only its identity matters here, not its age.
  const verdict = judgeSnapshot(header, {
    topic,
    topicId: now.layout.topicId,
    offsets: now.offsets,
    deleteRetentionMs: Number.POSITIVE_INFINITY,
  });
  if (!verdict.usable)
    throw new HotstateError(
      'HOTSTATE_ERR_VERSION_UNREACHABLE',
      `snapshot ${file} cannot stand for a version of ${topic}: ${verdict.reason}`,
    );
  const entries = new Map<string, string>();
  await readSnapshotEntries(file, (key, entry) => {
    entries.set(key, entry);
  });
  await schemas.settle(header.schemaIds);
  return { topic, topicId: header.topicId, positions: snapshotVersion(header).positions, entries, source: file };
}

/** Writer schema ids of a version's values (to settle before decoding them). */
export function schemaIdsOf(entries: Iterable<string>): number[] {
  const ids = new Set<number>();
  for (const entry of entries) ids.add(entrySchemaId(entry));
  return [...ids];
}
