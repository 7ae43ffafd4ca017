// How far a replay is, from plain numbers: records applied, the share of the records between the start and the
// end offsets captured at start, the rate and the time still to go.
import type { ReplayProgress } from './data-types.ts';

export function replayProgress(
  starts: ReadonlyMap<number, number>,
  ends: ReadonlyMap<number, number>,
  position: (partition: number) => number,
  appliedRecords: number,
  seconds: number,
): ReplayProgress {
  let total = 0;
  let done = 0;
  for (const [partition, end] of ends) {
    const start = starts.get(partition) ?? 0;
    total += end - start;
    done += Math.min(end, position(partition)) - start;
  }
  const rate = seconds > 0 ? appliedRecords / seconds : 0;
  return {
    records: appliedRecords,
    share: total === 0 ? 1 : done / total,
    recordsPerSecond: rate,
    etaSeconds: rate > 0 ? (total - done) / rate : undefined,
  };
}
