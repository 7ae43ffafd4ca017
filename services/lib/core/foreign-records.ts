// Records of foreign topics made into what the store takes: an Avro key (Confluent frame, as Debezium and Kafka
// Connect write it) becomes its canonical text (sources/canonical-key.ts), and a Debezium delete (`op: d`, or a
// flattened row with `__deleted: true`) becomes a tombstone. Records of hotstate's own topics (UTF-8 keys, plain
// values) pass through as they are: the same objects, no copy.
import { frameSchemaId, headerBytes } from '../codec/confluent-avro.ts';
import { canonicalKey } from '../sources/canonical-key.ts';
import { changeOf, type Change, type ChangeSource, type TransactionTag } from '../sources/change-shape.ts';
import { FetchedRecord } from '../transport/transport.ts';
import { isFramedKey, type Poison } from './poison.ts';
import type { WriterSchemas } from './writer-schemas.ts';

export interface Translated {
  readonly records: readonly FetchedRecord[];
  readonly poison: Map<number, Poison>;
  /** Each record's transaction (index for index); undefined when no record carries one. */
  readonly transactions: ReadonlyArray<TransactionTag | undefined> | undefined;
  /** The connector's name (`source.name`, its topic prefix) as the first tagged change gives it. */
  readonly connector: string | undefined;
}

export class ForeignRecords {
  /** Writer schemas of the topic's keys (`<topic>-key`). */
  readonly keySchemas: WriterSchemas;
  readonly topic: string;

  constructor(topic: string, keySchemas: WriterSchemas) {
    this.topic = topic;
    this.keySchemas = keySchemas;
  }

  /** Key schema ids of the records that have no verdict yet (settle them before translate). */
  unsettledKeyIds(records: readonly FetchedRecord[]): number[] {
    const ids = new Set<number>();
    for (const record of records) {
      if (!isFramedKey(record)) continue;
      const id = frameSchemaId(record.bytes, record.keyAt);
      if (this.keySchemas.verdict(id) === undefined) ids.add(id);
    }
    return [...ids];
  }

  /**
   * The records as the store takes them (index for index), and the poison found on the way: keys whose schema is
   * unknown or that do not decode. Records already in `poison` are left alone. Every key and value id must have been
   * settled. `transactions` (index for index) is set when some change carries Debezium's transaction metadata.
   */
  translate(
    records: readonly FetchedRecord[],
    values: WriterSchemas,
    poison: ReadonlyMap<number, Poison>,
    onSource?: (record: FetchedRecord, source: ChangeSource) => void,
  ): Translated {
    const found = new Map<number, Poison>();
    let out: FetchedRecord[] | undefined;
    let transactions: Array<TransactionTag | undefined> | undefined;
    let connector: string | undefined;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as FetchedRecord;
      if (poison.has(i)) continue;
      let key: Buffer | undefined;
      if (isFramedKey(record)) {
        const text = this.keyText(record);
        if (typeof text !== 'string') {
          found.set(i, text);
          continue;
        }
        key = Buffer.from(text, 'utf8');
      }
      const change = record.valueLength >= 0 ? captured(record, values) : undefined;
      if (change?.source && onSource) onSource(record, change.source);
      if (change?.transaction) {
        (transactions ??= new Array<TransactionTag | undefined>(records.length))[i] = change.transaction;
        connector ??= typeof change.source?.name === 'string' ? change.source.name : undefined;
      }
      const deleted = change !== undefined && change.row === undefined;
      if (key === undefined && !deleted) continue;
      out ??= records.slice();
      out[i] = rewritten(record, key, deleted);
    }
    return { records: out ?? records, poison: found, transactions, connector };
  }

  private keyText(record: FetchedRecord): string | Poison {
    const id = frameSchemaId(record.bytes, record.keyAt);
    const verdict = this.keySchemas.verdict(id);
    if (!verdict?.ok)
      return { reason: 'bad-key', detail: `Avro key: ${verdict?.detail ?? `schema id ${String(id)} not settled`}` };
    try {
      const at = record.keyAt + headerBytes;
      const decoded: unknown = verdict.schema.type.fromBuffer(
        record.bytes.subarray(at, record.keyAt + record.keyLength),
      );
      return canonicalKey(decoded);
    } catch (error) {
      return {
        reason: 'bad-key',
        detail: `Avro key does not decode with schema ${String(id)}: ${(error as Error).message}`,
      };
    }
  }
}

/** The change a Debezium value holds (an envelope, or a flattened row); undefined for a plain value. */
function captured(record: FetchedRecord, values: WriterSchemas): Change | undefined {
  const verdict = values.verdict(frameSchemaId(record.bytes, record.valueAt));
  if (!verdict?.ok || verdict.schema.shape === 'plain') return undefined;
  const body = record.bytes.subarray(record.valueAt + headerBytes, record.valueAt + record.valueLength);
  return changeOf(verdict.schema.shape, verdict.schema.type.fromBuffer(body));
}

/** The record with its key's text and the log key kept for partition rules; a delete loses its value. */
function rewritten(record: FetchedRecord, key: Buffer | undefined, deleted: boolean): FetchedRecord {
  const keyBytes = key ?? (record.key as Buffer);
  const value = deleted ? null : record.value;
  return new FetchedRecord(
    record.offset,
    record.timestamp,
    value === null ? keyBytes : Buffer.concat([keyBytes, value]),
    0,
    keyBytes.length,
    keyBytes.length,
    value === null ? -1 : value.length,
    record.headers,
    key === undefined ? record.logKey : (record.key ?? undefined),
  );
}
