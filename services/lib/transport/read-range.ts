// Reads partitions of a topic from their start to the end offsets captured when it begins, then stops: for tools
// that scan the log once (key history, benchmarks), not for views, which keep tailing.
import { HotstateError } from '../errors.ts';
import type { PartitionChunk, Transport } from './transport.ts';

/** Hands every record below the captured ends to `onRecords`; partitions = all when omitted. */
export async function readRange(transport: Transport, topic: string, onRecords: (chunk: PartitionChunk, end: number) => void, partitions?: ReadonlySet<number>): Promise<void> {
  const layout = await transport.layout(topic);
  if (!layout) throw new HotstateError('HOTSTATE_ERR_RESOURCE_NOT_FOUND', `topic ${topic} does not exist`);
  const offsets = (await transport.offsets(topic)).filter((p) => partitions?.has(p.partition) ?? true);
  const remaining = new Map(offsets.filter((p) => p.end > p.start).map((p) => [p.partition, p.end]));
  if (remaining.size === 0) return;
  const done = Promise.withResolvers<undefined>();
  const reader = transport.read({ ...layout, partitions: layout.partitions.filter((p) => remaining.has(p.partition)) }, new Map(offsets.map((p) => [p.partition, p.start])), {
    chunk: (chunk) => {
      const end = remaining.get(chunk.partition);
      if (end === undefined) return;
      onRecords(chunk, end);
      if (chunk.next >= end) remaining.delete(chunk.partition);
      if (remaining.size === 0) done.resolve(undefined);
    },
    // Unavailable partitions are retried by the reader; a log that moved under us or a topic that went away ends it.
    problem: (problem) => { if (problem.kind !== 'unavailable') done.reject(new HotstateError('HOTSTATE_ERR_TRANSPORT_KAFKA', `reading ${topic} to its end: ${problem.kind}; run it again`, { retriable: true })); },
    recovered: () => undefined,
  });
  try {
    await done.promise;
  } finally {
    await reader.stop();
  }
}
