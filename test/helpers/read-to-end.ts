// Reads a topic from the beginning up to the end offsets captured at the start, then stops. A partition counts
// as done when the position reaches its end offset; partitions that are empty or end in compacted-away offsets
// are handled by comparing positions, never by waiting for a record at `end - 1`.
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { createTailingConsumer, withAdmin } from './kafkajs-client.ts';

export interface RawRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  /** Copied out of the fetch buffer. */
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
  readonly timestamp: number;
}

function copy(message: KafkaMessage, partition: number): RawRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {}))
    if (value !== undefined) headers[name] = value.toString();
  return {
    partition,
    offset: Number(message.offset),
    key: message.key ? Buffer.from(message.key) : null,
    value: message.value ? Buffer.from(message.value) : null,
    headers,
    timestamp: Number(message.timestamp),
  };
}

/** Every record currently in the topic, in offset order per partition; the consumer group is deleted after. */
export async function readToEnd(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<RawRecord[]> {
  const offsets = await withAdmin(kafka, (admin) => admin.fetchTopicOffsets(topic));
  const ends = new Map(offsets.map((p) => [p.partition, Number(p.high)]));
  const positions = new Map(offsets.map((p) => [p.partition, Number(p.low)]));
  const done = (): boolean => [...ends].every(([p, end]) => (positions.get(p) ?? 0) >= end);
  const records: RawRecord[] = [];
  if (done()) return records;
  const groupId = `hotstate-read-${randomUUID()}`;
  const consumer = createTailingConsumer(kafka, groupId);
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`reading ${topic} to its end took longer than ${String(timeoutMs)} ms`));
      }, timeoutMs);
      consumer
        .run({
          eachBatch: ({ batch }) => {
            for (const message of batch.messages) {
              const offset = Number(message.offset);
              if (offset < (ends.get(batch.partition) ?? 0)) records.push(copy(message, batch.partition));
            }
            positions.set(
              batch.partition,
              Math.max(positions.get(batch.partition) ?? 0, Number(batch.lastOffset()) + 1),
            );
            if (done()) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
    await withAdmin(kafka, (admin) => admin.deleteGroups([groupId])).catch(() => undefined);
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}
