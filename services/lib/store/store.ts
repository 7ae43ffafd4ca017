// The key → entry map of a view, with snapshots. Batches are applied synchronously, so a synchronous read always
// sees whole batches. A snapshot (a version vector) keeps reading exactly that version across awaits: while any
// snapshot is open, overwritten entries are kept in a side history and deleted keys stay as tombstones, so
// iterating the live map (whose key order does not change on overwrite) visits every key once. An entry from
// partition p at offset o is visible to a snapshot iff o < snapshot position of p.
// Entries can also live off the heap, in a BaseIndex: a store restored from a snapshot file starts with the file's
// entries there, and while `bulk` is set (a view replaying the topic) and no snapshot is open, writes go there too.
// Once live, a key the view changes moves into the Map and its place in the base is marked dead.
import { BaseIndex } from './base-index.ts';
import { keyHash } from './key-hash.ts';
import type { FetchedRecord } from '../transport/transport.ts';
import { entryOffset, entryPartition, isTombstone, packEntry } from './entry.ts';

export type Positions = ReadonlyMap<number, number>;

export class SnapshotStore {
  private readonly live = new Map<string, string>();
  /** Older entries of keys changed while snapshots are open (newest first); key absent = no history. */
  private readonly history = new Map<string, Array<string | undefined>>();
  private readonly open = new Set<Positions>();
  private liveKeys = 0;
  private base: BaseIndex | undefined;
  /** The base place current() last found (-1: none), and for which key (or record): applyOver moves that key
   * without a second lookup. */
  private foundPlace = -1;
  private foundKey: string | undefined;
  private foundRecord: FetchedRecord | undefined;
  /** Set while a view replays: writes of keys not in the Map go to the base (made on the first one). */
  bulk = false;

  get size(): number {
    return this.liveKeys;
  }

  /** Applies one record (value null = delete). Returns the previous live entry, if any. */
  apply(key: string, partition: number, offset: number, timestamp: number, value: Buffer | null): string | undefined {
    return this.applyOver(this.current(key), key, partition, offset, timestamp, value);
  }

  /** What `key` maps to now, tombstones kept for snapshots included: pass it to applyOver (one lookup per record). */
  current(key: string): string | undefined {
    const entry = this.live.size === 0 ? undefined : this.live.get(key);
    if (this.base === undefined) return entry;
    // Remembered for applyOver, also when the key is not in the base (-1): then moving it costs no second lookup.
    this.foundKey = key;
    this.foundRecord = undefined;
    this.foundPlace = entry === undefined ? this.base.find(key) : -1;
    return this.foundPlace < 0 ? entry : this.base.entry(this.foundPlace);
  }

  /** keyHash(key), free for the key current() looked up last. */
  keyHash(key: string): number {
    return this.base === undefined ? keyHash(key) : this.base.hashOf(key);
  }

  /**
   * Whether records may be applied by their key bytes (currentOfRecord, applyRecord), making no key strings: while
   * replaying with no snapshot open and nothing in the Map, every key is looked up in and written to the base.
   */
  get takesKeyBytes(): boolean {
    return this.bulk && this.open.size === 0 && this.live.size === 0 && this.base !== undefined;
  }

  /** current() of the record's key, while takesKeyBytes. */
  currentOfRecord(record: FetchedRecord): string | undefined {
    const base = this.base as BaseIndex;
    this.foundKey = undefined;
    this.foundRecord = record;
    this.foundPlace = base.findBytes(record.bytes, record.keyAt, record.keyLength);
    return this.foundPlace < 0 ? undefined : base.entry(this.foundPlace);
  }

  /** keyHash of the key currentOfRecord() looked up last. */
  get recordKeyHash(): number {
    return (this.base as BaseIndex).lastKeyHash;
  }

  /** applyOver() of a record whose key currentOfRecord() found (`previous`), while takesKeyBytes. */
  applyRecord(previous: string | undefined, record: FetchedRecord, partition: number): string | undefined {
    const base = this.base as BaseIndex;
    const place =
      this.foundRecord === record ? this.foundPlace : base.findBytes(record.bytes, record.keyAt, record.keyLength);
    this.foundRecord = undefined;
    const previousLive = previous !== undefined && !isTombstone(previous) ? previous : undefined;
    if (record.valueLength >= 0) {
      base.appendRecord(record, partition);
      if (previousLive === undefined) this.liveKeys++;
    } else {
      if (place >= 0) base.kill(place);
      if (previousLive !== undefined) this.liveKeys--;
    }
    return previousLive;
  }

  /** apply() for a caller that already looked the key up with current(). */
  applyOver(
    previous: string | undefined,
    key: string,
    partition: number,
    offset: number,
    timestamp: number,
    value: Buffer | null,
  ): string | undefined {
    const previousLive = previous !== undefined && !isTombstone(previous) ? previous : undefined;
    if (this.bulk && this.open.size === 0 && !this.inMap(key, previous)) {
      this.writeToBase(key, partition, offset, timestamp, value);
      if (value === null && previousLive !== undefined) this.liveKeys--;
      if (value !== null && previousLive === undefined) this.liveKeys++;
      return previousLive;
    }
    if (this.base !== undefined && previous !== undefined) this.moveFromBase(key);
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

  /** `previous` (what current() found for `key`) came from the Map. */
  private inMap(key: string, previous: string | undefined): boolean {
    if (previous === undefined || this.base === undefined) return previous !== undefined;
    return this.foundKey === key ? this.foundPlace < 0 : this.live.has(key);
  }

  /** A write while replaying: the key's new entry is appended to the base, a delete kills its place there. */
  private writeToBase(key: string, partition: number, offset: number, timestamp: number, value: Buffer | null): void {
    const base = (this.base ??= BaseIndex.empty());
    const place = this.foundKey === key ? this.foundPlace : base.find(key);
    this.foundKey = undefined;
    if (value !== null) base.append(key, partition, offset, timestamp, value);
    else if (place >= 0) base.kill(place);
  }

  /** Makes room for `records` more writes to the base (a replay about to start knows how many it will read). */
  reserve(records: number): void {
    if (records > 0) (this.base ??= BaseIndex.empty()).reserve(records);
  }

  /** The key leaves the base (it is about to be written to the Map, or deleted). */
  private moveFromBase(key: string): void {
    if (this.base === undefined) return;
    const place = this.foundKey === key ? this.foundPlace : this.base.find(key);
    this.foundKey = undefined;
    if (place >= 0) this.base.kill(place);
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

  /** Starts an empty store from a snapshot's entries, left in place. */
  loadBase(base: BaseIndex): void {
    if (this.live.size > 0 || (this.base !== undefined && this.base.count > 0))
      throw new Error('internal: a base is loaded into an empty store only');
    this.base = base;
    this.liveKeys = base.alive;
  }

  get(key: string): string | undefined {
    const entry = this.current(key);
    return entry === undefined || isTombstone(entry) ? undefined : entry;
  }

  /** Live keys and entries, base first; a synchronous pass (across awaits, use a snapshot's entriesAt). */
  *entries(): IterableIterator<[string, string]> {
    const base = this.base;
    if (base !== undefined)
      for (let place = 0; place < base.count; place++)
        if (!base.isDead(place)) yield [base.key(place), base.entry(place)];
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
    const entry = this.current(key);
    if (entry === undefined || visible(entry)) return entry === undefined || isTombstone(entry) ? undefined : entry;
    for (const older of this.history.get(key) ?? []) {
      if (older === undefined) return undefined; // the key did not exist before its first change
      if (visible(older)) return isTombstone(older) ? undefined : older;
    }
    return undefined;
  }

  /** Keys and entries as of the snapshot; safe across awaits while the snapshot is open. */
  *entriesAt(positions: Positions): IterableIterator<[string, string]> {
    // A base key is visited at its place in the base even after it moved to the Map (and skipped there), so a key
    // that moves during the iteration is still visited exactly once.
    const base = this.base;
    if (base !== undefined) {
      for (let place = 0; place < base.count; place++) {
        if (base.isSuperseded(place)) continue;
        const key = base.key(place);
        const entry = this.getAt(key, positions);
        if (entry !== undefined) yield [key, entry];
      }
    }
    for (const key of this.live.keys()) {
      if (base !== undefined && base.find(key, true) >= 0) continue;
      const entry = this.getAt(key, positions);
      if (entry !== undefined) yield [key, entry];
    }
  }
}

export { packEntry };
