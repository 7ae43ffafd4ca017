// Whether a view is fresh, from plain numbers: per partition its position, the latest end offset it knows, when it
// last advanced and since when records wait there; the partitions it cannot fetch. One partition stuck (say,
// answering "not the leader" while its leadership moves) makes the view stale even while others advance; an idle
// partition that just got a record is not stuck: the time counts from when records began to wait, not from its last
// progress. No clock and no I/O: unit-tested over numbers.

export interface FreshnessInput {
  readonly now: number;
  /** Per partition: the next offset to apply. */
  readonly positions: ReadonlyArray<readonly [partition: number, position: number]>;
  /** Per partition: the latest end offset seen (fetch answers and health checks). */
  readonly latestEnds: ReadonlyMap<number, number>;
  /** When a partition last advanced. */
  readonly progressedAt: (partition: number) => number;
  /** Since when records wait in a partition (trackWaiting keeps it). */
  readonly waitingSince: ReadonlyMap<number, number>;
  /** Partitions that cannot be fetched now, with why. */
  readonly unavailable: ReadonlyMap<number, string>;
  readonly staleAfterMs: number;
  /** Timestamp of the newest record applied (0: none), else `fallbackSince` counts. */
  readonly lastAppliedTimestamp: number;
  readonly fallbackSince: number;
}

export interface Freshness {
  /** Lag in seconds: 0 when nothing waits, else since the newest applied record's timestamp. */
  readonly lagSeconds: number;
  /** Why the view is stale, or undefined when it is fresh. */
  readonly staleReason: string | undefined;
}

export function judgeFreshness(input: FreshnessInput): Freshness {
  const { now, positions, latestEnds, unavailable, staleAfterMs } = input;
  const waitingIn = positions
    .filter(([partition, position]) => (latestEnds.get(partition) ?? 0) > position)
    .map(([partition]) => partition);
  const waiting = waitingIn.length > 0 || unavailable.size > 0;
  const since = input.lastAppliedTimestamp > 0 ? input.lastAppliedTimestamp : input.fallbackSince;
  const lagSeconds = waiting ? Math.max(0, now - since) / 1000 : 0;
  // Stuck: no progress since records began to wait, for longer than staleAfterMs.
  const stuckSince = (partition: number): number =>
    Math.max(input.progressedAt(partition), input.waitingSince.get(partition) ?? now);
  const stuck = waitingIn.filter((partition) => now - stuckSince(partition) > staleAfterMs);
  if (unavailable.size > 0) {
    return {
      lagSeconds,
      staleReason: `cannot fetch partition(s) ${[...unavailable.keys()].join(', ')}: ${[...unavailable.values()][0] ?? ''}`,
    };
  }
  if (stuck.length === 0) return { lagSeconds, staleReason: undefined };
  const longest = (now - Math.min(...stuck.map(stuckSince))) / 1000;
  return {
    lagSeconds,
    staleReason: `records wait in partition(s) ${stuck.join(', ')} but none was applied there for ${longest.toFixed(1)} s`,
  };
}

/** Notes, per partition, since when records wait (first seen behind its end) and forgets caught-up partitions. */
export function trackWaiting(
  waitingSince: Map<number, number>,
  positions: ReadonlyArray<readonly [partition: number, position: number]>,
  latestEnds: ReadonlyMap<number, number>,
  now: number,
): void {
  for (const [partition, position] of positions) {
    if ((latestEnds.get(partition) ?? 0) <= position) waitingSince.delete(partition);
    else if (!waitingSince.has(partition)) waitingSince.set(partition, now);
  }
}
