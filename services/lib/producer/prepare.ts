// Turns an update into exactly the bytes that will be sent, or into a list of problems. Pure and synchronous, so
// a whole batch (or a whole input file) can be checked before anything is sent.
import type { Type } from 'avsc';
import type { Problem } from '../errors.ts';
import { validateValue } from '../codec/validate.ts';
import { encodeFramed } from '../codec/confluent-avro.ts';
import { partitionForKey } from '../kafka/murmur2.ts';

/** Kafka headers hotstate writes (all optional). */
export interface WriteHeaders {
  /** Upstream system that produced the update. */
  readonly source?: string;
  /** Version of that system's record (e.g. a row version or an ETag). */
  readonly sourceVersion?: string;
  readonly traceId?: string;
}

export const headerNames = {
  source: 'hotstate-source',
  sourceVersion: 'hotstate-source-version',
  traceId: 'hotstate-trace-id',
} as const;

/** An upsert (`value` is the record) or a delete (`value` is null). */
export interface Update {
  readonly key: string;
  readonly value: unknown;
  readonly headers?: WriteHeaders;
}

export interface PreparedRecord {
  readonly key: string;
  readonly keyBytes: Buffer;
  /** Confluent-framed Avro, or null for a tombstone. */
  readonly value: Buffer | null;
  readonly partition: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface PrepareContext {
  readonly type: Type;
  readonly schemaId: number;
  readonly partitions: number;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly defaultHeaders: WriteHeaders;
  /** defaultHeaders as Kafka headers, computed on first use and shared by every record (never mutated). */
  defaultKafkaHeaders?: Readonly<Record<string, string>>;
}

export type Prepared = { ok: true; record: PreparedRecord } | { ok: false; problems: Problem[] };

/** Why a key cannot be used, or undefined; `bytes` is its UTF-8 length when already known. */
export function keyProblem(key: unknown, maxKeyBytes: number, bytes?: number): string | undefined {
  if (typeof key !== 'string') return `the key must be a string, got ${key === null ? 'null' : typeof key}`;
  if (key.length === 0) return 'the key is empty';
  if (!key.isWellFormed()) return 'the key is not valid UTF-8 (it contains a lone surrogate)';
  const length = bytes ?? Buffer.byteLength(key, 'utf8');
  if (length > maxKeyBytes) return `the key is ${String(length)} bytes, above the ${String(maxKeyBytes)}-byte cap`;
  return undefined;
}

function kafkaHeaders(headers: WriteHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, header] of Object.entries(headerNames)) {
    const value = headers[name as keyof WriteHeaders];
    if (value !== undefined) out[header] = value;
  }
  return out;
}

// Hot path (one call per record): no allocation beyond the record itself unless something is wrong.
export function prepareUpdate(update: Update, context: PrepareContext, at?: number): Prepared {
  const { key } = update;
  const keyBytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : undefined;
  const fail = (kind: 'key' | 'size', reason: string): Prepared => ({
    ok: false,
    problems: [
      { kind, ...(at === undefined ? {} : { at }), ...(typeof key === 'string' ? { key } : {}), path: '', reason },
    ],
  });
  const badKey = keyProblem(key, context.maxKeyBytes, keyBytes?.length);
  if (badKey !== undefined || keyBytes === undefined) return fail('key', badKey ?? 'the key must be a string');
  let value: Buffer | null = null;
  if (update.value !== null) {
    const problems = validateValue(context.type, update.value);
    if (problems.length > 0)
      return { ok: false, problems: problems.map((p) => ({ ...(at === undefined ? {} : { at }), key, ...p })) };
    value = encodeFramed(context.type, context.schemaId, update.value);
    if (value.length > context.maxValueBytes)
      return fail(
        'size',
        `the encoded value is ${String(value.length)} bytes, above the ${String(context.maxValueBytes)}-byte cap`,
      );
  }
  const headers = update.headers
    ? kafkaHeaders({ ...context.defaultHeaders, ...update.headers })
    : (context.defaultKafkaHeaders ??= kafkaHeaders(context.defaultHeaders));
  return {
    ok: true,
    record: { key, keyBytes, value, partition: partitionForKey(keyBytes, context.partitions), headers },
  };
}
