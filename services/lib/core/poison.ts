// Poison classification of fetched records, before anything is applied: pure functions of the bytes and the
// writer-schema verdicts, so the rules are unit-testable without a broker.
import { isUtf8 } from 'node:buffer';
import { checkDatum, defaultDatumLimits, type DatumLimits } from '../codec/avro-guard.ts';
import { frameProblem as framingOf, frameSchemaId, headerBytes } from '../codec/confluent-avro.ts';
import type { FetchedRecord } from '../transport/transport.ts';
import type { SchemaVerdict, WriterSchemas } from './writer-schemas.ts';

export type PoisonReason =
  | 'bad-key'
  | 'too-large'
  | 'truncated'
  | 'bad-magic-byte'
  | 'unknown-schema-id'
  | 'foreign-schema-id'
  | 'incompatible-writer-schema'
  | 'malformed';

export interface Poison {
  readonly reason: PoisonReason;
  readonly detail: string;
}

/** What a record may cost: its size, and the guard's per-record budget. */
export interface RecordLimits extends DatumLimits {
  readonly maxValueBytes: number;
}

/** Limits of a view that sets none (viewDefaults shows them among the view's options). */
export const defaultRecordLimits: RecordLimits = { maxValueBytes: 1_000_000, ...defaultDatumLimits };

/** The view options' limits. */
export const recordLimits = (options: {
  maxValueBytes: number;
  maxItems: number;
  maxNestingDepth: number;
}): RecordLimits => ({
  maxValueBytes: options.maxValueBytes,
  maxItems: options.maxItems,
  maxDepth: options.maxNestingDepth,
});

/** The record's key as text, or null when it has none or it is not UTF-8 (checkRecords calls that poison). Made
 * when asked: a replay looks keys up by their bytes and needs few strings. */
export function keyText(record: FetchedRecord): string | null {
  const { bytes, keyAt, keyLength } = record;
  if (keyLength < 0) return null;
  const end = keyAt + keyLength;
  if (isAscii(bytes, keyAt, end)) return bytes.toString('latin1', keyAt, end);
  const key = bytes.subarray(keyAt, end);
  return isUtf8(key) ? key.toString('utf8') : null;
}

/** An ASCII key (the usual kind) is UTF-8 without the library check. */
function isAscii(bytes: Buffer, at: number, end: number): boolean {
  for (let i = at; i < end; i++) if ((bytes[i] as number) >= 0x80) return false;
  return true;
}

/**
 * A key in the Confluent frame: magic byte 0 and a schema id. UTF-8 text never starts with NUL in practice, so a key
 * that does is read as Avro (foreign-records.ts; its id must be registered under `<topic>-key`, or it is poison).
 */
export function isFramedKey(record: FetchedRecord): boolean {
  return record.keyLength >= headerBytes && record.bytes[record.keyAt] === 0;
}

function keyProblem(record: FetchedRecord): Poison | undefined {
  const { bytes, keyAt, keyLength } = record;
  if (keyLength < 0) return { reason: 'bad-key', detail: 'record has no key' };
  if (isFramedKey(record)) return undefined; // its text is made, and checked, when it is translated
  if (!isAscii(bytes, keyAt, keyAt + keyLength) && !isUtf8(bytes.subarray(keyAt, keyAt + keyLength)))
    return { reason: 'bad-key', detail: 'key is not valid UTF-8' };
  return undefined;
}

/** Problems of a value visible without a schema: its size and its Confluent frame. */
function valueProblem(record: FetchedRecord, maxValueBytes: number): Poison | undefined {
  const { bytes, valueAt, valueLength } = record;
  if (valueLength > maxValueBytes)
    return { reason: 'too-large', detail: `value is ${String(valueLength)} bytes, above ${String(maxValueBytes)}` };
  return valueLength >= headerBytes && bytes[valueAt] === 0 ? undefined : framingOf(record.value as Buffer); // a value: valueLength >= 0 here
}

/**
 * Poison records by index (keys without text, values too large, unframed or not of their writer schema). A writer
 * schema id without a verdict yet is added to `unsettled` when it is given (the caller settles them and checks
 * again), else it is an internal error.
 */
export function checkRecords(
  records: readonly FetchedRecord[],
  schemas: WriterSchemas,
  limits: RecordLimits,
  unsettled?: Set<number>,
): Map<number, Poison> {
  const poison = new Map<number, Poison>();
  const verdictOf = lastVerdict(schemas);
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as FetchedRecord;
    const problem =
      keyProblem(record) ??
      (record.valueLength < 0
        ? undefined
        : (valueProblem(record, limits.maxValueBytes) ?? schemaProblem(record, verdictOf, limits, unsettled)));
    if (problem !== undefined) poison.set(i, problem);
  }
  return poison;
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

function schemaProblem(
  record: FetchedRecord,
  verdictOf: (id: number) => SchemaVerdict | undefined,
  limits: DatumLimits,
  unsettled: Set<number> | undefined,
): Poison | undefined {
  const { bytes, valueAt, valueLength } = record;
  const id = frameSchemaId(bytes, valueAt);
  const verdict = verdictOf(id);
  if (verdict === undefined) {
    if (unsettled === undefined) throw new Error('internal: records checked before their schema ids were settled');
    unsettled.add(id);
    return undefined;
  }
  if (!verdict.ok) return { reason: verdict.reason, detail: verdict.detail };
  try {
    checkDatum(verdict.schema.type, bytes, valueAt + headerBytes, limits, valueAt + valueLength);
  } catch (error) {
    return { reason: 'malformed', detail: (error as Error).message };
  }
  return undefined;
}
