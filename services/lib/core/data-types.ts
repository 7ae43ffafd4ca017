// What the view core tells its readers about: changes, pins, replay progress and key-partition conflicts.
import type { ChangeSource } from '../sources/change-shape.ts';

export interface Change<T = unknown> {
  readonly key: string;
  /** undefined when the key was created. */
  readonly previous: T | undefined;
  /** undefined when the key was deleted. */
  readonly value: T | undefined;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  /** For a change captured from a database: where it came from (lsn, txId, table, ts_ms, op, …). */
  readonly source?: ChangeSource;
}

/** What readers see while an operator pins the view: one version, while applying goes on underneath. */
export interface PinStatus {
  readonly since: number;
  readonly reason: string;
  /** The version readers see. */
  readonly version: string;
  /** Records applied since the pin that readers do not see yet. */
  readonly recordsBehind: number;
  /** Keys changed since the pin, whose pinned entry is kept (the memory a pin costs). */
  readonly heldKeys: number;
  /** Change events held back for listeners until unpin. */
  readonly heldChanges: number;
}

/** How a change listener is told of changes (ViewReads.onChange). */
export interface ChangeListenerOptions {
  /** Only changes of keys that start with this. */
  readonly prefix?: string;
  /**
   * While the view replays, only the changes of each partition's last `replayTail` records before the end offsets
   * the replay started from (the records before are not decoded for this listener): for a listener that keeps no
   * more changes than that anyway. Changes once the view is live always reach it.
   */
  readonly replayTail?: number;
  /** Hears, when each replay starts, from which offset of each partition this listener is told changes. */
  readonly onReplayWindow?: (from: ReadonlyMap<number, number>) => void;
}

export interface ReplayProgress {
  readonly records: number;
  /** 0..1 of the records between the start and the end offsets captured at start. */
  readonly share: number;
  readonly recordsPerSecond: number;
  readonly etaSeconds: number | undefined;
}

/**
 * A record of `key` arrived in `arrivedIn` while `heldBy` holds the key. The rule every view applies: the key's
 * home partition (murmur2 of the key, Kafka's default partitioner) wins; between two other partitions, the lower
 * number wins. `applied` says whether the arriving record won.
 */
export interface KeyPartitionConflict {
  readonly key: string;
  readonly heldBy: number;
  readonly arrivedIn: number;
  readonly offset: number;
  readonly applied: boolean;
}
