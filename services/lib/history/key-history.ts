// A key's versions still in the log: every record of the key in its partition (or in all partitions, for topics
// written with another partitioner), oldest first, with operation, headers and decoded value. Reads the partitions
// from their start to the end offsets captured when it began; what compaction removed is gone (see the rollback
// window in docs/operations.md).
import { frameSchemaId } from '../codec/confluent-avro.ts';
import { HotstateError } from '../errors.ts';
import { partitionForKey } from '../kafka/murmur2.ts';
import { readRange } from '../transport/read-range.ts';
import type { FetchedRecord, Transport } from '../transport/transport.ts';
import type { WriterSchemas } from '../core/writer-schemas.ts';

export interface KeyVersion {
  readonly key: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly operation: 'upsert' | 'delete';
  readonly headers: Readonly<Record<string, string>>;
  /** The decoded value (null for a delete); undefined when it cannot be decoded (`problem` says why). */
  readonly value: unknown;
  readonly schemaId?: number;
  readonly problem?: string;
}

export async function keyHistory(
  transport: Transport,
  schemas: WriterSchemas,
  topic: string,
  key: string,
  options: { allPartitions?: boolean } = {},
): Promise<KeyVersion[]> {
  const layout = await transport.layout(topic);
  if (!layout) throw new HotstateError('HOTSTATE_ERR_RESOURCE_NOT_FOUND', `topic ${topic} does not exist`);
  const keyBytes = Buffer.from(key, 'utf8');
  const home = partitionForKey(keyBytes, layout.partitions.length);
  const found: Array<{ partition: number; record: FetchedRecord }> = [];
  await readRange(
    transport,
    topic,
    (chunk, end) => {
      for (const record of chunk.records)
        if (record.offset < end && record.key?.equals(keyBytes)) found.push({ partition: chunk.partition, record });
    },
    options.allPartitions ? {} : { partitions: new Set([home]) },
  );
  const ids = found.flatMap(({ record }) => (record.value ? [frameSchemaId(record.value)] : []));
  await schemas.settle(ids);
  return found
    .sort((a, b) => a.partition - b.partition || a.record.offset - b.record.offset)
    .map(({ partition, record }) => {
      const base = { key, partition, offset: record.offset, timestamp: record.timestamp, headers: headersOf(record) };
      if (record.value === null) return { ...base, operation: 'delete', value: null };
      const schemaId = frameSchemaId(record.value);
      try {
        return { ...base, operation: 'upsert', value: schemas.decode(schemaId, record.value), schemaId };
      } catch (error) {
        return { ...base, operation: 'upsert', value: undefined, schemaId, problem: (error as Error).message };
      }
    });
}

function headersOf(record: FetchedRecord): Record<string, string> {
  return Object.fromEntries(
    (record.headers ?? []).flatMap(([name, value]) =>
      name ? [[name.toString('utf8'), value?.toString('utf8') ?? '']] : [],
    ),
  );
}
