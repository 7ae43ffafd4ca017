// The key → entry map of a view, with snapshots. Batches are applied synchronously, so a synchronous read always
// sees whole batches. A snapshot (a version vector) keeps reading exactly that version across awaits: while any
// snapshot is open, overwritten entries are kept in a side history and deleted keys stay as tombstones, so
// iterating the live map (whose key order does not change on overwrite) visits every key once. An entry from
// partition p at offset o is visible to a snapshot iff o < snapshot position of p.
import { entryOffset, entryPartition, isTombstone, packEntry } from './entry.ts';

export type Positions = ReadonlyMap<number, number>;

export class SnapshotStore {
  private readonly live = new Map<string, string>();
  /** Older entries of keys changed while snapshots are open (newest first); key absent = no history. */
  private readonly history = new Map<string, Array<string | undefined>>();
  private readonly open = new Set<Positions>();
  private liveKeys = 0;

  get size(): number {
    return this.liveKeys;
  }

  /** Applies one record (value null = delete). Returns the previous live entry, if any. */
  apply(key: string, partition: number, offset: number, timestamp: number, value: Buffer | null): string | undefined {
    return this.applyOver(this.live.get(key), key, partition, offset, timestamp, value);
  }

  /** What `key` maps to now, tombstones kept for snapshots included: pass it to applyOver (one lookup per record). */
  current(key: string): string | undefined {
    return this.live.get(key);
  }

  /** apply() for a caller that already looked the key up with current(). */
  applyOver(previous: string | undefined, key: string, partition: number, offset: number, timestamp: number, value: Buffer | null): string | undefined {
    const previousLive = previous !== undefined && !isTombstone(previous) ? previous : undefined;
    // An older entry is kept only while some open snapshot can see it, so a long-lived snapshot (a pin) holds at
    // most one old entry per changed key, however often the key changes.
    if (this.open.size > 0 && (previous === undefined || this.visibleToAnOpenSnapshot(previous))) {
      let older = this.history.get(key);
      if (!older) this.history.set(key, (older = []));
      older.unshift(previous);
    }
    if (value === null) {
      if (previousLive !== undefined) this.liveKeys--;
      if (this.open.size > 0) this.live.set(key, packEntry(partition, offset, timestamp, null));
      else this.live.delete(key);
    } else {
      if (previousLive === undefined) this.liveKeys++;
      this.live.set(key, packEntry(partition, offset, timestamp, value));
    }
    return previousLive;
  }

  private visibleToAnOpenSnapshot(entry: string): boolean {
    const partition = entryPartition(entry);
    const offset = entryOffset(entry);
    for (const positions of this.open) if (offset < (positions.get(partition) ?? 0)) return true;
    return false;
  }

  /** Keys with older entries kept for open snapshots (what a pin costs in memory). */
  get heldKeys(): number {
    return this.history.size;
  }

  /** Adds an entry read from a snapshot file into an empty-of-it store; false when the key is already there. */
  load(key: string, entry: string): boolean {
    const before = this.live.size;
    this.live.set(key, entry); // one hash lookup, not two: a duplicate leaves the size as it was
    if (this.live.size === before) return false;
    this.liveKeys++;
    return true;
  }

  get(key: string): string | undefined {
    const entry = this.live.get(key);
    return entry === undefined || isTombstone(entry) ? undefined : entry;
  }

  *entries(): IterableIterator<[string, string]> {
    for (const [key, entry] of this.live) if (!isTombstone(entry)) yield [key, entry];
  }

  openSnapshot(positions: Positions): void {
    this.open.add(positions);
  }

  closeSnapshot(positions: Positions): void {
    if (!this.open.delete(positions) || this.open.size > 0) return;
    // No snapshot left: drop histories and the tombstones kept for them.
    for (const key of this.history.keys()) {
      const entry = this.live.get(key);
      if (entry !== undefined && isTombstone(entry)) this.live.delete(key);
    }
    this.history.clear();
  }

  /** The entry of `key` as of the snapshot `positions`, or undefined when it did not exist then. */
  getAt(key: string, positions: Positions): string | undefined {
    const visible = (entry: string | undefined): boolean =>
      entry !== undefined && entryOffset(entry) < (positions.get(entryPartition(entry)) ?? 0);
    const entry = this.live.get(key);
    if (entry === undefined || visible(entry)) return entry === undefined || isTombstone(entry) ? undefined : entry;
    for (const older of this.history.get(key) ?? []) {
      if (older === undefined) return undefined; // the key did not exist before its first change
      if (visible(older)) return isTombstone(older) ? undefined : older;
    }
    return undefined;
  }

  /** Keys and entries as of the snapshot; safe across awaits while the snapshot is open. */
  *entriesAt(positions: Positions): IterableIterator<[string, string]> {
    for (const key of this.live.keys()) {
      const entry = this.getAt(key, positions);
      if (entry !== undefined) yield [key, entry];
    }
  }
}

export { packEntry };
