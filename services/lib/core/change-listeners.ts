// The view's change listeners: each hears the changes of keys with its prefix, in order, isolated from the others
// (a listener that throws is logged, never breaks the apply loop). A listener that asked for only a replay's tail
// hears, while the view replays, only each partition's last `replayTail` records before the end offsets; records
// before the earliest offset any listener hears of are not even decoded for them.
import type { Logger } from '../logger.ts';
import type { Change, ChangeListenerOptions } from './data-types.ts';

interface Listener {
  readonly prefix: string;
  readonly fn: (change: Change) => void;
  readonly options: ChangeListenerOptions;
  /** Per partition, the first offset this listener hears of while replaying (absent: all). */
  from: ReadonlyMap<number, number>;
}

export class ChangeListeners {
  private readonly log: Logger;
  private listeners: Listener[] = [];
  /** Per partition, the first offset some listener hears of while replaying (absent: all). */
  private tellFrom = new Map<number, number>();

  constructor(log: Logger) {
    this.log = log;
  }

  get any(): boolean {
    return this.listeners.length > 0;
  }

  /** While replaying: the first offset of the partition some listener hears of (records before need no decoding). */
  replayFrom(partition: number): number {
    return this.tellFrom.get(partition) ?? 0;
  }

  /** A replay starts towards `ends`, from `position` of each partition: each tail listener learns its window. */
  startReplayWindow(ends: ReadonlyMap<number, number>, position: (partition: number) => number): void {
    for (const listener of this.listeners) {
      const tail = listener.options.replayTail;
      if (tail === undefined) continue;
      listener.from = new Map(
        [...ends].map(([partition, end]) => [partition, Math.max(position(partition), end - tail)]),
      );
      listener.options.onReplayWindow?.(listener.from);
    }
    this.tellFrom = new Map(
      [...ends.keys()].map((p) => [p, Math.min(...this.listeners.map((l) => l.from.get(p) ?? 0))]),
    );
  }

  notify(changes: readonly Change[], replaying = false): void {
    for (const change of changes) {
      for (const listener of this.listeners) {
        if (!change.key.startsWith(listener.prefix)) continue;
        if (replaying && change.offset < (listener.from.get(change.partition) ?? 0)) continue;
        try {
          listener.fn(change);
        } catch (error) {
          this.log.error({ err: error, key: change.key }, 'change listener threw');
        }
      }
    }
  }

  /** Adds a listener; the function returned removes it. */
  add<T = unknown>(listener: (change: Change<T>) => void, options: ChangeListenerOptions = {}): () => void {
    const entry: Listener = {
      prefix: options.prefix ?? '',
      fn: listener as (change: Change) => void,
      options,
      from: new Map(),
    };
    this.listeners.push(entry);
    this.tellFrom.clear(); // it hears of every record until the next replay window
    return () => {
      this.listeners = this.listeners.filter((l) => l !== entry);
    };
  }
}
