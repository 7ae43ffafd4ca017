// A consistent read of one view version that stays valid across awaits until released.
import { HotstateError } from '../errors.ts';
import { formatVersionToken, type VersionVector } from '../version-token.ts';
import { entryOffset, entryPartition, entrySchemaId, entryTimestamp } from './entry.ts';
import type { Positions, SnapshotStore } from './store.ts';
import type { Change, ChangeSource } from '../sources/change-shape.ts';

export interface Item<T = unknown> {
  readonly key: string;
  readonly value: T;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly schemaId: number;
  /** For a change captured from a database (Debezium): where it came from (lsn, txId, table, ts_ms, op, …). */
  readonly source?: ChangeSource;
}

/** The row an entry holds and, for a captured change, its source. */
export type EntryDecoder = (entry: string) => Change;

export function itemOf<T>(key: string, entry: string, decode: EntryDecoder): Item<T> {
  const { row, source } = decode(entry);
  return {
    key,
    value: row as T,
    partition: entryPartition(entry),
    offset: entryOffset(entry),
    timestamp: entryTimestamp(entry),
    schemaId: entrySchemaId(entry),
    ...(source === undefined ? {} : { source }),
  };
}

/** A consistent read of one view version; release() it when done. */
export class ViewSnapshot {
  readonly version: VersionVector;
  readonly token: string;
  private readonly decode: EntryDecoder;
  private readonly store: SnapshotStore;
  private readonly positions: Positions;
  private released = false;

  constructor(store: SnapshotStore, version: VersionVector, decode: EntryDecoder) {
    this.decode = decode;
    this.store = store;
    this.version = version;
    this.positions = version.positions;
    this.token = formatVersionToken(version);
    store.openSnapshot(this.positions);
  }

  private check(): void {
    if (this.released) throw new HotstateError('HOTSTATE_ERR_LIFECYCLE_CLOSED', 'snapshot already released');
  }

  get<T = unknown>(key: string): Item<T> | undefined {
    this.check();
    const entry = this.store.getAt(key, this.positions);
    return entry === undefined ? undefined : itemOf<T>(key, entry, this.decode);
  }

  /** The packed entry of `key` at this version, or undefined. */
  entry(key: string): string | undefined {
    this.check();
    return this.store.getAt(key, this.positions);
  }

  /** Every item of this version, in key insertion order; safe to await between items. */
  *items<T = unknown>(options: { prefix?: string } = {}): IterableIterator<Item<T>> {
    this.check();
    const prefix = options.prefix ?? '';
    for (const [key, entry] of this.store.entriesAt(this.positions)) {
      if (this.released) return;
      if (key.startsWith(prefix)) yield itemOf<T>(key, entry, this.decode);
    }
  }

  /** Raw keys and packed entries of this version (for snapshot files). */
  entries(): IterableIterator<[string, string]> {
    this.check();
    return this.store.entriesAt(this.positions);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.store.closeSnapshot(this.positions);
  }
}
