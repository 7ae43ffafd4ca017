// The rule every view applies when a key arrives in a partition other than the one holding it (a writer with
// another partitioner, a repartitioned topic): the key's home partition (murmur2 of its bytes, Kafka's default
// partitioner) wins; between two other partitions, the lower number wins. Conflicts are counted and the recent ones
// kept for status(), so every instance decides alike and an operator sees it happen.
import type { Logger } from '../logger.ts';
import type { ViewMetrics } from '../metrics.ts';
import { partitionForKey } from '../kafka/murmur2.ts';
import type { KeyPartitionConflict } from './data-types.ts';

const RECENT_CONFLICTS = 10;

export class KeyPartitionRule {
  private readonly topic: string;
  private readonly metrics: ViewMetrics | undefined;
  private readonly log: Logger;
  private partitionCount = 0;
  total = 0;
  readonly recent: KeyPartitionConflict[] = [];

  constructor(topic: string, metrics: ViewMetrics | undefined, log: Logger) {
    this.topic = topic;
    this.metrics = metrics;
    this.log = log;
  }

  /** A replay of a topic with this many partitions starts: conflicts are counted anew. */
  reset(partitionCount: number): void {
    this.partitionCount = partitionCount;
    this.total = 0;
    this.recent.length = 0;
  }

  /** Whether the record arriving in `arrivedIn` replaces the key held by `heldBy`. */
  arrivingWins(key: string, keyBytes: Buffer | null, heldBy: number, arrivedIn: number, offset: number): boolean {
    const home = keyBytes === null ? -1 : partitionForKey(keyBytes, this.partitionCount);
    const applied = arrivedIn === home || (heldBy !== home && arrivedIn < heldBy);
    this.total++;
    this.recent.push({ key, heldBy, arrivedIn, offset, applied });
    if (this.recent.length > RECENT_CONFLICTS) this.recent.shift();
    this.metrics?.keyPartitionConflicts.inc({ topic: this.topic });
    if (this.total === 1 || this.total % 1000 === 0) {
      this.log.warn(
        { key, heldBy, arrivedIn, offset, applied, total: this.total },
        'a key arrived in a partition other than the one holding it',
      );
    }
    return applied;
  }
}
