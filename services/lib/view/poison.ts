// Poison classification of fetched records, before anything is applied: pure functions of the bytes and the
// writer-schema verdicts, so the rules are unit-testable without a broker.
import { isUtf8 } from 'node:buffer';
import { checkDatum, defaultDatumLimits, type DatumLimits } from '../codec/avro-guard.ts';
import { frameProblem as framingOf, frameSchemaId, headerBytes } from '../codec/confluent-avro.ts';
import type { FetchedRecord } from '../transport/transport.ts';
import type { SchemaVerdict, WriterSchemas } from './writer-schemas.ts';

export type PoisonReason = 'bad-key' | 'too-large' | 'truncated' | 'bad-magic-byte' | 'unknown-schema-id' | 'foreign-schema-id' | 'incompatible-writer-schema' | 'malformed';

export interface Poison {
  readonly reason: PoisonReason;
  readonly detail: string;
}

/** What a record may cost: its size, and the guard's per-record budget. */
export interface RecordLimits extends DatumLimits {
  readonly maxValueBytes: number;
}

/** The view options' limits, with their defaults. */
export const recordLimits = (options: { maxValueBytes?: number; maxItems?: number; maxNestingDepth?: number }): RecordLimits => ({
  maxValueBytes: options.maxValueBytes ?? 1_000_000,
  maxItems: options.maxItems ?? defaultDatumLimits.maxItems,
  maxDepth: options.maxNestingDepth ?? defaultDatumLimits.maxDepth,
});

/** The key as text, or null when there is none or it is not UTF-8 (an ASCII key, the usual kind, skips the check). */
function keyOf(key: Buffer | null): string | null {
  if (key === null) return null;
  let ascii = true;
  for (let i = 0; i < key.length && ascii; i++) ascii = (key[i] as number) < 0x80;
  if (ascii) return key.toString('latin1');
  return isUtf8(key) ? key.toString('utf8') : null;
}

/** Problems of a value visible without a schema: its size and its Confluent frame. */
function valueProblem(value: Buffer, maxValueBytes: number): Poison | undefined {
  if (value.length > maxValueBytes) return { reason: 'too-large', detail: `value is ${String(value.length)} bytes, above ${String(maxValueBytes)}` };
  return framingOf(value);
}

export interface CheckedRecords {
  /** Each record's key as a string (null when it has none or it is not UTF-8): decoded once per record. */
  readonly keys: Array<string | null>;
  /** Poison records by index. */
  readonly poison: Map<number, Poison>;
}

/**
 * Keys and poison records. A writer schema id without a verdict yet is added to `unsettled` when it is given (the
 * caller settles them and checks again), else it is an internal error.
 */
export function checkRecords(records: readonly FetchedRecord[], schemas: WriterSchemas, limits: RecordLimits, unsettled?: Set<number>): CheckedRecords {
  const poison = new Map<number, Poison>();
  const keys = new Array<string | null>(records.length);
  const verdictOf = lastVerdict(schemas);
  for (let i = 0; i < records.length; i++) {
    const { key, value } = records[i] as FetchedRecord;
    const text = keyOf(key);
    const problem = text === null ? { reason: 'bad-key' as const, detail: key === null ? 'record has no key' : 'key is not valid UTF-8' }
      : value === null ? undefined : valueProblem(value, limits.maxValueBytes) ?? schemaProblem(value, verdictOf, limits, unsettled);
    if (problem !== undefined) poison.set(i, problem);
    keys[i] = text;
  }
  return { keys, poison };
}

/** schemas.verdict, remembering the last id asked (records mostly share their writer schema). */
function lastVerdict(schemas: WriterSchemas): (id: number) => SchemaVerdict | undefined {
  let lastId = -1;
  let last: SchemaVerdict | undefined;
  return (id) => {
    if (id !== lastId) {
      last = schemas.verdict(id);
      lastId = id;
    }
    return last;
  };
}

function schemaProblem(value: Buffer, verdictOf: (id: number) => SchemaVerdict | undefined, limits: DatumLimits, unsettled: Set<number> | undefined): Poison | undefined {
  const id = frameSchemaId(value);
  const verdict = verdictOf(id);
  if (verdict === undefined) {
    if (unsettled === undefined) throw new Error('internal: records checked before their schema ids were settled');
    unsettled.add(id);
    return undefined;
  }
  if (!verdict.ok) return { reason: verdict.reason, detail: verdict.detail };
  try {
    checkDatum(verdict.schema.type, value, headerBytes, limits);
  } catch (error) {
    return { reason: 'malformed', detail: (error as Error).message };
  }
  return undefined;
}
