// Poison classification of fetched records, before anything is applied: pure functions of the bytes and the
// writer-schema verdicts, so the rules are unit-testable without a broker.
import { isUtf8 } from 'node:buffer';
import { checkDatum } from '../codec/avro-guard.ts';
import { frameProblem as framingOf, frameSchemaId, headerBytes } from '../codec/confluent-avro.ts';
import type { FetchedRecord } from '../transport/transport.ts';
import type { WriterSchemas } from './writer-schemas.ts';

export type PoisonReason = 'bad-key' | 'too-large' | 'truncated' | 'bad-magic-byte' | 'unknown-schema-id' | 'foreign-schema-id' | 'incompatible-writer-schema' | 'malformed';

export interface Poison {
  readonly reason: PoisonReason;
  readonly detail: string;
}

export const keyOf = (key: Buffer | null): string | null => (key !== null && isUtf8(key) ? key.toString('utf8') : null);

/** Problems visible without a schema: the key and the Confluent frame. */
export function frameProblem(key: Buffer | null, value: Buffer | null, maxValueBytes: number): Poison | undefined {
  if (key === null) return { reason: 'bad-key', detail: 'record has no key' };
  if (!isUtf8(key)) return { reason: 'bad-key', detail: 'key is not valid UTF-8' };
  if (value === null) return undefined;
  if (value.length > maxValueBytes) return { reason: 'too-large', detail: `value is ${String(value.length)} bytes, above ${String(maxValueBytes)}` };
  return framingOf(value);
}


/** Writer schema ids of well-framed values that have no verdict yet. */
export function unsettledSchemaIds(records: readonly FetchedRecord[], schemas: WriterSchemas, maxValueBytes: number): number[] {
  const ids = new Set<number>();
  for (const { key, value } of records) {
    if (value !== null && frameProblem(key, value, maxValueBytes) === undefined) {
      const id = frameSchemaId(value);
      if (schemas.verdict(id) === undefined) ids.add(id);
    }
  }
  return [...ids];
}

/** Poison records by index, once every schema id has a verdict. */
export function findPoison(records: readonly FetchedRecord[], schemas: WriterSchemas, maxValueBytes: number): Map<number, Poison> {
  const poison = new Map<number, Poison>();
  records.forEach(({ key, value }, i) => {
    const framing = frameProblem(key, value, maxValueBytes);
    if (framing !== undefined) {
      poison.set(i, framing);
      return;
    }
    if (value === null) return;
    const verdict = schemas.verdict(frameSchemaId(value));
    if (verdict === undefined) throw new Error('internal: findPoison before the schema ids were settled');
    if (!verdict.ok) {
      poison.set(i, { reason: verdict.reason, detail: verdict.detail });
      return;
    }
    try {
      checkDatum(verdict.schema.type, value, headerBytes);
    } catch (error) {
      poison.set(i, { reason: 'malformed', detail: (error as Error).message });
    }
  });
  return poison;
}
