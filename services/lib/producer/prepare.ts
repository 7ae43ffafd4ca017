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

export const headerNames = { source: 'hotstate-source', sourceVersion: 'hotstate-source-version', traceId: 'hotstate-trace-id' } as const;

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
  readonly headers: Record<string, string>;
}

export interface PrepareContext {
  readonly type: Type;
  readonly schemaId: number;
  readonly partitions: number;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly defaultHeaders: WriteHeaders;
}

export type Prepared = { ok: true; record: PreparedRecord } | { ok: false; problems: Problem[] };

export function keyProblem(key: unknown, maxKeyBytes: number): string | undefined {
  if (typeof key !== 'string') return `the key must be a string, got ${key === null ? 'null' : typeof key}`;
  if (key.length === 0) return 'the key is empty';
  if (!key.isWellFormed()) return 'the key is not valid UTF-8 (it contains a lone surrogate)';
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > maxKeyBytes) return `the key is ${String(bytes)} bytes, above the ${String(maxKeyBytes)}-byte cap`;
  return undefined;
}

export function prepareUpdate(update: Update, context: PrepareContext, at?: number): Prepared {
  const where = { ...(at === undefined ? {} : { at }), ...(typeof update.key === 'string' ? { key: update.key } : {}) };
  const badKey = keyProblem(update.key, context.maxKeyBytes);
  if (badKey) return { ok: false, problems: [{ ...where, path: '', reason: badKey }] };
  let value: Buffer | null = null;
  if (update.value !== null) {
    const problems = validateValue(context.type, update.value);
    if (problems.length > 0) return { ok: false, problems: problems.map((p) => ({ ...where, ...p })) };
    value = encodeFramed(context.type, context.schemaId, update.value);
    if (value.length > context.maxValueBytes) {
      return { ok: false, problems: [{ ...where, path: '', reason: `the encoded value is ${String(value.length)} bytes, above the ${String(context.maxValueBytes)}-byte cap` }] };
    }
  }
  const keyBytes = Buffer.from(update.key, 'utf8');
  const merged = { ...context.defaultHeaders, ...update.headers };
  const headers: Record<string, string> = {};
  for (const [name, header] of Object.entries(headerNames)) {
    const v = merged[name as keyof WriteHeaders];
    if (v !== undefined) headers[header] = v;
  }
  return { ok: true, record: { key: update.key, keyBytes, value, partition: partitionForKey(keyBytes, context.partitions), headers } };
}
