// The entries of a view kept off the JavaScript heap: slabs of bytes (one record per key: u32 key length, the key,
// u32 entry length, the packed entry of entry.ts) and an open-addressing hash table of typed arrays that finds a
// key's place in them. A restored snapshot's body is the first slab, indexed in place; a view replaying a topic
// appends to further slabs (append()). A million keys then cost a pass over the bytes instead of two million
// strings and a million Map inserts (which also make every later garbage collection slower); a key's strings are
// made only when it is read. A key the view changes once it is live moves to the store's Map and its place here is
// marked dead (see store.ts).
import type { FetchedRecord } from '../transport/transport.ts';
import { entryHeaderBytes, writeEntryHeader } from './entry.ts';
import { hashAscii, hashBytes, isAscii, keyHash } from './key-hash.ts';
import { readU32, writeU32 } from './u32.ts';

const emptySlot = -1;
/** Table slots are sorted into this many runs before they are filled, so that filling touches memory in order. */
const runBits = 11;
/** An entry's address is its slab's number times this plus where its key starts in the slab. */
const slabSpan = 2 ** 40;
/** Slab sizes: at least this, and as large as the records a replay still expects need (up to the largest), so that a
 * replay allocates a few slabs: every allocation outside the heap counts towards V8's next full GC. */
const slabBytes = 8 * 1024 * 1024;
const largestSlabBytes = 1024 * 1024 * 1024;
/** dead[place]: the key moved to the Map or was deleted (its place still in the table), or a later place holds it. */
const killed = 1;
const superseded = 2;

/** A sealed index's arrays, moved between threads without copying (snapshot/base-loader.ts). */
export interface SealedIndex {
  readonly keyAt: Float64Array;
  readonly table: Int32Array;
  readonly added: number;
}

export class BaseIndex {
  private readonly slabs: Buffer[];
  /** Bytes used of the last slab (appends go there). */
  private slabFill: number;
  /** Where each entry's key starts (an address: slab and offset; its u32 length precedes it; the entry's length
   * and bytes follow). */
  private keyAt: Float64Array;
  /** Each entry's key hash, until seal() has put them in the table. */
  private hashes: Int32Array | undefined;
  private dead: Uint8Array;
  /** Open addressing, two int32s per slot: the key's hash and its place (emptySlot: free), side by side so that a
   * probe reads one cache line. Built by seal(). */
  private table: Int32Array = new Int32Array(0);
  private mask = 0;
  /** Slots in use (keys indexed, dead ones included). */
  private used = 0;
  private added = 0;
  private deadPlaces = 0;
  /** Appends a replay still expects (reserve()), to size the next slab. */
  private expected = 0;
  /** The slot the last probe ended at, and for which key (a string, or bytes at `at`) and table: append() after find()
   * probes once. */
  private probed = {
    key: undefined as string | undefined,
    bytes: undefined as Buffer | undefined,
    at: 0,
    table: this.table,
    slot: 0,
    hash: 0,
    encoded: undefined as Buffer | undefined,
  };

  /** An empty index of up to `capacity` entries of `body`, or the one `sealed` elsewhere over the same bytes. */
  constructor(body: Buffer, capacity: number, sealed?: SealedIndex) {
    this.slabs = [body];
    this.slabFill = body.length;
    this.dead = new Uint8Array(capacity);
    if (sealed === undefined) {
      this.keyAt = new Float64Array(capacity);
      this.hashes = new Int32Array(capacity);
      return;
    }
    if (sealed.keyAt.length !== capacity || sealed.added > capacity || sealed.table.length < 2 * sealed.added)
      throw new Error('internal: a sealed index of another size');
    this.keyAt = sealed.keyAt;
    this.table = sealed.table;
    this.mask = sealed.table.length / 2 - 1;
    this.added = sealed.added;
    this.used = sealed.added;
  }

  /** An index with no entries yet, to append() to. */
  static empty(): BaseIndex {
    const index = new BaseIndex(Buffer.alloc(0), 0);
    index.seal();
    return index;
  }

  /** The body and the arrays of a sealed index, to make it again on another thread. */
  handOver(): { body: Buffer; sealed: SealedIndex } {
    const body = this.slabs[0];
    if (this.hashes !== undefined || this.deadPlaces > 0 || this.slabs.length > 1 || body === undefined)
      throw new Error('internal: an index is handed over sealed and unchanged');
    return { body, sealed: { keyAt: this.keyAt, table: this.table, added: this.added } };
  }

  /** Entries added, the dead ones included (places run 0 .. count-1 in body order). */
  get count(): number {
    return this.added;
  }

  /** Entries whose key is current here (neither moved, deleted nor superseded). */
  get alive(): number {
    return this.added - this.deadPlaces;
  }

  /** Adds the entry whose key starts at `keyAt` (after its u32 length), in body order; seal() once all are added. */
  add(keyAt: number, keyBytes: number): void {
    if (this.hashes === undefined) throw new Error('internal: the index is sealed');
    const place = this.added++;
    this.keyAt[place] = keyAt;
    this.hashes[place] = hashBytes(this.slabs[0] as Buffer, keyAt, keyBytes);
  }

  /**
   * Builds the table from the added entries; returns the place of a key added twice, or -1. The entries are first
   * sorted by the run of the table their slot falls in (a counting sort): filling a table of millions of slots
   * in random order is a cache miss per entry, in run order it is not.
   */
  seal(): number {
    const hashes = this.hashes;
    if (hashes === undefined) throw new Error('internal: the index is sealed already');
    const n = this.added;
    const slotBits = slotBitsFor(n);
    const mask = (1 << slotBits) - 1;
    const shift = Math.max(0, slotBits - runBits);
    // runStarts[r + 1] counts run r's entries, then the sums make runStarts[r] where run r starts in `sorted`.
    const runStarts = new Int32Array((mask >>> shift) + 2);
    for (let place = 0; place < n; place++) {
      const run = ((hashes[place] as number) & mask) >>> shift;
      runStarts[run + 1] = (runStarts[run + 1] as number) + 1;
    }
    for (let run = 1; run < runStarts.length; run++)
      runStarts[run] = (runStarts[run] as number) + (runStarts[run - 1] as number);
    const sorted = new Int32Array(2 * n); // hash, place
    for (let place = 0; place < n; place++) {
      const hash = hashes[place] as number;
      const run = (hash & mask) >>> shift;
      const at = runStarts[run] as number;
      runStarts[run] = at + 1;
      sorted[2 * at] = hash;
      sorted[2 * at + 1] = place;
    }
    const table = new Int32Array(2 << slotBits).fill(emptySlot);
    for (let at = 0; at < n; at++) {
      const hash = sorted[2 * at] as number;
      const place = sorted[2 * at + 1] as number;
      let i = hash & mask;
      for (let slot = table[2 * i + 1] as number; slot !== emptySlot; slot = table[2 * i + 1] as number) {
        if (table[2 * i] === hash && this.keyBytesEqual(slot, place)) return place;
        i = (i + 1) & mask;
      }
      table[2 * i] = hash;
      table[2 * i + 1] = place;
    }
    this.table = table;
    this.mask = mask;
    this.used = n;
    this.hashes = undefined;
    return -1;
  }

  /** Makes room for `more` appended keys at once, instead of growing step by step while they arrive. */
  reserve(more: number): void {
    if (this.hashes !== undefined) throw new Error('internal: the index is not sealed');
    this.expected = more;
    this.growPlaces(this.added + more);
    if (slotBitsFor(this.used + more) > slotBitsFor(this.used)) this.rehash(slotBitsFor(this.used + more));
  }

  /** The place of `key`, or -1; dead places only when asked (a moved key still has its place in the order). */
  find(key: string, includeDead = false): number {
    return this.placeIn(this.probe(key), includeDead);
  }

  /** find() of the key given as its UTF-8 bytes (`length` of them at `at`): no string needed. */
  findBytes(bytes: Buffer, at: number, length: number): number {
    return this.placeIn(this.probeBytes(bytes, at, length), false);
  }

  private placeIn(slot: number, includeDead: boolean): number {
    const place = this.table[2 * slot + 1] as number;
    return place !== emptySlot && (includeDead || this.dead[place] === 0) ? place : -1;
  }

  /**
   * Writes `key`'s packed entry (entry.ts) to the end of the last slab and makes it the key's place: an earlier
   * place of the key (alive, moved or deleted) is superseded, skipped by every pass over the places from then on.
   */
  append(key: string, partition: number, offset: number, timestamp: number, value: Buffer): void {
    this.makeRoomForOne();
    const slot = this.probe(key);
    const { encoded } = this.probed;
    const keyBytes = encoded === undefined ? key.length : encoded.length;
    const at = this.room(keyBytes, value.length);
    const slab = this.lastSlab;
    if (encoded === undefined)
      slab.write(key, at, keyBytes, 'latin1'); // ASCII: its chars are its bytes
    else slab.set(encoded, at);
    slab.set(value, this.file(slot, at, keyBytes, partition, offset, timestamp));
  }

  /** append() of a fetched record (a tombstone is not appended), its key and value copied from its bytes. */
  appendRecord(record: FetchedRecord, partition: number): void {
    const { bytes, keyAt, keyLength, valueAt, valueLength } = record;
    this.makeRoomForOne();
    const slot = this.probeBytes(bytes, keyAt, keyLength);
    const at = this.room(keyLength, valueLength);
    const slab = this.lastSlab;
    if (keyLength <= 32)
      for (let i = 0; i < keyLength; i++) slab[at + i] = bytes[keyAt + i] as number; // no native call for a short key
    else bytes.copy(slab, at, keyAt, keyAt + keyLength);
    bytes.copy(
      slab,
      this.file(slot, at, keyLength, partition, record.offset, record.timestamp),
      valueAt,
      valueAt + valueLength,
    );
  }

  private makeRoomForOne(): void {
    if (this.hashes !== undefined) throw new Error('internal: the index is not sealed');
    if (this.added === this.keyAt.length) this.growPlaces(2 * this.added + 1024);
    if (3 * (this.used + 1) > this.table.length) this.rehash(33 - Math.clz32(this.mask)); // past 2/3 full: twice the slots (the mask has as many bits as the slot number)
  }

  private get lastSlab(): Buffer {
    return this.slabs[this.slabs.length - 1] as Buffer;
  }

  /** Room at the end of the last slab for a key and a value of these sizes, their lengths written; where the key goes. */
  private room(keyBytes: number, valueBytes: number): number {
    const entryBytes = entryHeaderBytes + valueBytes;
    let slab = this.lastSlab;
    if (this.slabFill + 8 + keyBytes + entryBytes > slab.length) {
      // Sized for the appends still expected, at this one's size (the records of a topic are mostly alike).
      const wanted = Math.min(largestSlabBytes, this.expected * (8 + keyBytes + entryBytes));
      slab = Buffer.allocUnsafeSlow(Math.max(slabBytes, wanted, 8 + keyBytes + entryBytes));
      this.slabs.push(slab);
      this.slabFill = 0;
    }
    const at = this.slabFill + 4;
    writeU32(slab, at - 4, keyBytes);
    writeU32(slab, at + keyBytes, entryBytes);
    this.slabFill = at + keyBytes + 4 + entryBytes;
    return at;
  }

  /** Makes the entry whose key was just written at `at` of the last slab the probed key's place; writes its header
   * and returns where its value goes. */
  private file(
    slot: number,
    at: number,
    keyBytes: number,
    partition: number,
    offset: number,
    timestamp: number,
  ): number {
    const slab = this.lastSlab;
    const entryAt = at + keyBytes + 4;
    writeEntryHeader(slab, entryAt, partition, offset, timestamp);
    if (this.expected > 0) this.expected--;
    const place = this.added++;
    this.keyAt[place] = (this.slabs.length - 1) * slabSpan + at;
    const earlier = this.table[2 * slot + 1] as number;
    if (earlier === emptySlot) {
      this.table[2 * slot] = this.probed.hash;
      this.used++;
    } else {
      if (this.dead[earlier] === 0) this.deadPlaces++;
      this.dead[earlier] = superseded;
    }
    this.table[2 * slot + 1] = place;
    return entryAt + entryHeaderBytes;
  }

  isDead(place: number): boolean {
    return this.dead[place] !== 0;
  }

  /** A later place holds the key: this one is no key's place any more (passes over the places skip it). */
  isSuperseded(place: number): boolean {
    return this.dead[place] === superseded;
  }

  /** keyHash(key), without hashing again when it is the key probed last. */
  hashOf(key: string): number {
    return this.probed.key === key ? this.probed.hash : keyHash(key);
  }

  /** keyHash of the key probed last (by find, findBytes or append). */
  get lastKeyHash(): number {
    return this.probed.hash;
  }

  /** The key moved to the store's Map, or was deleted: its entry here is no longer current. */
  kill(place: number): void {
    if (this.dead[place] !== 0) return;
    this.dead[place] = killed;
    this.deadPlaces++;
  }

  key(place: number): string {
    const address = this.keyAt[place] ?? 0;
    const slab = this.slabAt(address);
    const at = address % slabSpan;
    return slab.toString('utf8', at, at + readU32(slab, at - 4));
  }

  /** The packed entry (entry.ts) as a string, made on each call. */
  entry(place: number): string {
    const address = this.keyAt[place] ?? 0;
    const slab = this.slabAt(address);
    const entryAt = (address % slabSpan) + readU32(slab, (address % slabSpan) - 4) + 4;
    return slab.toString('latin1', entryAt, entryAt + readU32(slab, entryAt - 4));
  }

  private slabAt(address: number): Buffer {
    return (address < slabSpan ? this.slabs[0] : this.slabs[Math.floor(address / slabSpan)]) as Buffer;
  }

  /** The slot holding `key`, or the free slot where it would go; remembered for append(). */
  private probe(key: string): number {
    const probed = this.probed;
    if (probed.key === key && probed.table === this.table) return probed.slot;
    const encoded = isAscii(key) ? undefined : Buffer.from(key, 'utf8');
    if (encoded === undefined)
      return this.remember(this.slotOf(hashAscii(key), key, undefined, 0, key.length), key, undefined, 0, undefined);
    const hash = hashBytes(encoded, 0, encoded.length);
    return this.remember(this.slotOf(hash, undefined, encoded, 0, encoded.length), key, undefined, 0, encoded);
  }

  /** probe() of a key given as its UTF-8 bytes. */
  private probeBytes(bytes: Buffer, at: number, length: number): number {
    const probed = this.probed;
    if (probed.bytes === bytes && probed.at === at && probed.table === this.table) return probed.slot;
    return this.remember(
      this.slotOf(hashBytes(bytes, at, length), undefined, bytes, at, length),
      undefined,
      bytes,
      at,
      undefined,
    );
  }

  /** The slot holding the key of this hash (an ASCII string, or `length` bytes at `at`), or the free slot where it would go. */
  private slotOf(
    hash: number,
    ascii: string | undefined,
    bytes: Buffer | undefined,
    at: number,
    length: number,
  ): number {
    const { table, mask } = this;
    let i = hash & mask;
    for (let place = table[2 * i + 1] ?? emptySlot; place !== emptySlot; place = table[2 * i + 1] ?? emptySlot) {
      if (table[2 * i] === hash && this.keyIs(place, ascii, bytes, at, length)) break;
      i = (i + 1) & mask;
    }
    this.probed.hash = hash;
    return i;
  }

  /** Remembers the slot slotOf() found and for which key (a string, or bytes at `at`); returns it. */
  private remember(
    slot: number,
    key: string | undefined,
    bytes: Buffer | undefined,
    at: number,
    encoded: Buffer | undefined,
  ): number {
    const probed = this.probed;
    probed.key = key;
    probed.bytes = bytes;
    probed.at = at;
    probed.table = this.table;
    probed.slot = slot;
    probed.encoded = encoded;
    return slot;
  }

  private growPlaces(capacity: number): void {
    if (capacity <= this.keyAt.length) return;
    const keyAt = new Float64Array(capacity);
    keyAt.set(this.keyAt.subarray(0, this.added));
    const dead = new Uint8Array(capacity);
    dead.set(this.dead.subarray(0, this.added));
    this.keyAt = keyAt;
    this.dead = dead;
  }

  /** A table of 2^slotBits slots holding what this one holds. */
  private rehash(slotBits: number): void {
    const old = this.table;
    const mask = (1 << slotBits) - 1;
    const table = new Int32Array(2 << slotBits).fill(emptySlot);
    for (let s = 0; s < old.length; s += 2) {
      const place = old[s + 1] as number;
      if (place === emptySlot) continue;
      const hash = old[s] as number;
      let i = hash & mask;
      while (table[2 * i + 1] !== emptySlot) i = (i + 1) & mask;
      table[2 * i] = hash;
      table[2 * i + 1] = place;
    }
    this.table = table;
    this.mask = mask;
  }

  /** Whether `place` and `other` hold the same key bytes (seal() meets a key added twice). */
  private keyBytesEqual(place: number, other: number): boolean {
    const address = this.keyAt[other] ?? 0;
    const slab = this.slabAt(address);
    const at = address % slabSpan;
    return this.keyIs(place, undefined, slab, at, readU32(slab, at - 4));
  }

  /** Whether `place` holds the key given as an ASCII string (its chars are its bytes) or as `length` bytes at `at`. */
  private keyIs(
    place: number,
    ascii: string | undefined,
    bytes: Buffer | undefined,
    at: number,
    length: number,
  ): boolean {
    const address = this.keyAt[place] ?? 0;
    const slab = this.slabAt(address);
    const keyAt = address % slabSpan;
    if (readU32(slab, keyAt - 4) !== length) return false;
    if (ascii !== undefined) {
      for (let i = 0; i < length; i++) if (slab[keyAt + i] !== ascii.charCodeAt(i)) return false;
      return true;
    }
    const other = bytes as Buffer;
    if (length > 32) return slab.compare(other, at, at + length, keyAt, keyAt + length) === 0;
    for (let i = 0; i < length; i++) if (slab[keyAt + i] !== other[at + i]) return false; // short keys: no native call
    return true;
  }
}

/** Table size for n keys: at most two thirds full (linear probing stays short; a slot costs 8 bytes per key). */
function slotBitsFor(n: number): number {
  let slotBits = 4;
  while (2 * (1 << slotBits) < n * 3) slotBits++;
  return slotBits;
}
