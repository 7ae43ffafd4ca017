// The view: a dataset topic replayed into memory and kept up to date (the lifecycle: view-lifecycle.ts), with the
// operator's API on top: status, pinning, snapshot files and a key's history.
import { HotstateError } from '../errors.ts';
import type { PinStatus } from '../core/view-data.ts';
import type { ViewState } from '../core/view-state.ts';
import type { WrittenSnapshot } from '../snapshot/view-snapshot-files.ts';
import { keyHistory, type KeyVersion } from '../history/key-history.ts';
import { ViewLifecycle } from './view-lifecycle.ts';
import { ConnectClient } from '../cdc/connect-client.ts';
import { parseLsn, waitForCommittedPosition, type Lsn } from '../cdc/source-position.ts';
import { formatVersionToken } from '../version-token.ts';
import type { ReplayProgress, ViewOptions, ViewStatus } from './view-types.ts';

export type { Item } from '../store/view-snapshot.ts';
export { ViewSnapshot } from '../store/view-snapshot.ts';
export type { Change, ChangeListenerOptions, PinStatus } from '../core/view-data.ts';
export type {
  KeyPartitionConflict,
  PoisonPolicy,
  ReplayProgress,
  ViewEvents,
  ViewOptions,
  ViewStatus,
} from './view-types.ts';
export type { ViewState, ViewStateName, RebuildReason, FailureKind } from '../core/view-state.ts';

export class HotstateView extends ViewLifecycle {
  /** The current state: name, since when, why. */
  get state(): ViewState {
    return this.machine.state;
  }

  /**
   * Read-your-database-writes: resolves once every change committed at or before `lsn` (an LSN taken after the
   * COMMIT, e.g. by `sourcePositionQuery`) is applied. Needs the `source` option (the connector writing the topic).
   */
  async waitForSource(position: { readonly lsn: Lsn }, timeoutMs = 30_000): Promise<void> {
    const { source } = this.options;
    if (source === undefined)
      throw new HotstateError(
        'HOTSTATE_ERR_CONFIG_INVALID',
        `view of ${this.topic} has no source connector: set the view's source option ({ connectUrl, connector })`,
      );
    const began = Date.now();
    await waitForCommittedPosition(
      new ConnectClient(source.connectUrl),
      source.connector,
      parseLsn(position.lsn),
      timeoutMs,
    );
    // Every record of that transaction is acknowledged: the end offsets read now cover it.
    const ends = await this.transport.offsets(this.topic);
    const token = formatVersionToken({ topic: this.topic, positions: new Map(ends.map((p) => [p.partition, p.end])) });
    await this.waitFor(token, Math.max(1, timeoutMs - (Date.now() - began)));
  }

  /** Records per writer schema id applied since start. */
  recordsBySchema(): ReadonlyMap<number, number> {
    return this.schemas.counts;
  }

  progress(): ReplayProgress {
    return this.data.progress(this.starts, this.ends, this.replayStarted);
  }

  status(): ViewStatus {
    const { state } = this.machine;
    return {
      state: state.name,
      ready: this.machine.caughtUp,
      reason: state.reason,
      failed: state.name === 'failed',
      stale: state.name === 'stale' ? { since: state.since, reason: state.reason ?? '' } : undefined,
      keys: this.data.size,
      version: this.token,
      progress: this.progress(),
      partitions: this.data.positionEntries().map(([partition, position]) => {
        const end = Math.max(this.latestEnds.get(partition) ?? 0, this.ends.get(partition) ?? 0, position);
        return { partition, position, end, lag: end - position };
      }),
      keyPartitionConflicts: { total: this.data.conflicts.total, recent: [...this.data.conflicts.recent] },
      snapshot: this.snapshots.status(),
      pinned: this.data.pinStatus(),
      transactions: this.transactions.status(),
    };
  }

  /**
   * Freezes what readers (get, keys, snapshot, waitFor, change listeners) see at the current version, while the
   * view keeps fetching and applying underneath: lag does not build up in Kafka, so no record the pin needs can be
   * compacted or purged, and `unpin()` is one synchronous step. Costs one kept entry per key changed since the pin.
   */
  pin(reason = 'pinned'): PinStatus {
    const status = this.data.pin(reason);
    this.log.warn({ version: status.version, reason }, 'view pinned: readers see this version until unpinned');
    this.updatePinMetrics();
    return status;
  }

  /** Readers see the applied version again, in one step; listeners get the held-back changes in order. */
  unpin(): { heldSeconds: number; changes: number } | undefined {
    const released = this.data.unpin();
    if (released) this.log.info({ ...released, version: this.token }, 'view unpinned');
    this.updatePinMetrics();
    return released;
  }

  /**
   * Writes a snapshot file of the current version (readers and the apply loop go on meanwhile); the view must be
   * ready. `path` is a folder (the file is named `<topic>.<created ms>.snapshot` in it) or a file of that name;
   * any other name is refused, since `createView({ snapshot: { dir } })`, which starts from the newest usable
   * one, reads only such names.
   */
  async writeSnapshot(path: string): Promise<WrittenSnapshot> {
    if (!this.machine.caughtUp || !this.layout)
      throw new HotstateError(
        'HOTSTATE_ERR_VIEW_NOT_READY',
        `view of ${this.topic} is ${this.machine.name}: a snapshot is written of a ready view`,
        { retriable: true },
      );
    return this.snapshots.write(path, this.data.appliedSnapshot(), this.layout.topicId);
  }

  /** The key's versions still in the log (reads its partition from the start: an operator's tool, not a hot path). */
  history(key: string, options: { allPartitions?: boolean } = {}): Promise<KeyVersion[]> {
    return keyHistory(this.transport, this.schemas, this.topic, key, options);
  }
}

/** Creates a view and starts its replay (await `view.ready` for it to finish). */
export async function createView(options: ViewOptions): Promise<HotstateView> {
  const view = new HotstateView(options);
  try {
    await view.start();
  } catch (error) {
    await view.close();
    throw error;
  }
  return view;
}
