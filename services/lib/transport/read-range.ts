// Reads partitions of a topic from a start (their log start unless given) to an end (the end offsets captured when
// it begins, or lower bounds given), then stops: for tools that scan the log once (key history, versions at a
// token, benchmarks), not for views, which keep tailing.
import { HotstateError } from '../errors.ts';
import type { PartitionChunk, Transport } from './transport.ts';

export interface RangeOptions {
  /** Only these partitions. @defaultValue all */
  readonly partitions?: ReadonlySet<number>;
  /** Where to start per partition. @defaultValue each partition's log start offset */
  readonly from?: ReadonlyMap<number, number>;
  /** Where to stop per partition (capped by its end offset now). @defaultValue each partition's end offset now */
  readonly until?: ReadonlyMap<number, number>;
}

/** Hands every chunk reaching below the range's end to `onRecords` (records at or past `end` are the caller's to skip). */
export async function readRange(
  transport: Transport,
  topic: string,
  onRecords: (chunk: PartitionChunk, end: number) => void | Promise<void>,
  options: RangeOptions = {},
): Promise<void> {
  const layout = await transport.layout(topic);
  if (!layout) throw new HotstateError('HOTSTATE_ERR_RESOURCE_NOT_FOUND', `topic ${topic} does not exist`);
  const offsets = (await transport.offsets(topic)).filter((p) => options.partitions?.has(p.partition) ?? true);
  const starts = new Map(
    offsets.map((p) => [p.partition, Math.max(p.start, options.from?.get(p.partition) ?? p.start)]),
  );
  const remaining = new Map(
    offsets
      .map((p) => [p.partition, Math.min(p.end, options.until?.get(p.partition) ?? p.end)] as const)
      .filter(([partition, end]) => end > (starts.get(partition) ?? 0)),
  );
  if (remaining.size === 0) return;
  const done = Promise.withResolvers<undefined>();
  const reader = transport.read(
    { ...layout, partitions: layout.partitions.filter((p) => remaining.has(p.partition)) },
    starts,
    {
      chunk: async (chunk) => {
        const end = remaining.get(chunk.partition);
        if (end === undefined) return;
        try {
          await onRecords(chunk, end); // the reader waits for it: the caller's pace is the read's pace
        } catch (error) {
          done.reject(error);
          return;
        }
        if (chunk.next >= end) remaining.delete(chunk.partition);
        if (remaining.size === 0) done.resolve(undefined);
      },
      // Unavailable partitions are retried by the reader; a refusal keeps its own code; a log that moved under us or a
      // topic that went away ends it.
      problem: (problem) => {
        if (problem.kind === 'refused') done.reject(problem.error);
        else if (problem.kind !== 'unavailable')
          done.reject(
            new HotstateError(
              'HOTSTATE_ERR_TRANSPORT_KAFKA',
              `reading ${topic} to its end: ${problem.kind}; run it again`,
              { retriable: true },
            ),
          );
      },
      recovered: () => undefined,
    },
  );
  try {
    await done.promise;
  } finally {
    await reader.stop();
  }
}
