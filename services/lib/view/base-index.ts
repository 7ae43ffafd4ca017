// The entries a view restored from a snapshot file, left where they are: the file's body stays one Buffer (off the
// JavaScript heap) and an open-addressing hash table of typed arrays finds a key's place in it. Restoring 1M keys
// then costs one pass over the bytes instead of two million strings and a million Map inserts (which also make
// every later garbage collection slower); a key's strings are made only when it is read. A key the view changes
// afterwards moves to the store's Map and its place here is marked dead (see store.ts).
const emptySlot = -1;
/** Table slots are sorted into this many runs before they are filled, so that filling touches memory in order. */
const runBits = 11;

/** A sealed index's arrays, moved between threads without copying (snapshot/base-loader.ts). */
export interface SealedIndex {
  readonly keyAt: Float64Array;
  readonly table: Int32Array;
  readonly added: number;
}

export class BaseIndex {
  private readonly body: Buffer;
  /** Where each entry's key starts in the body (its u32 length precedes it; the entry's length and bytes follow). */
  private readonly keyAt: Float64Array;
  /** Each entry's key hash, until seal() has put them in the table. */
  private hashes: Int32Array | undefined;
  private readonly dead: Uint8Array;
  /** Open addressing, two int32s per slot: the key's hash and its place (emptySlot: free), side by side so that a
   * probe reads one cache line. Built by seal(). */
  private table: Int32Array = new Int32Array(0);
  private mask = 0;
  private added = 0;
  private killed = 0;

  /** An empty index of up to `capacity` entries of `body`, or the one `sealed` elsewhere over the same bytes. */
  constructor(body: Buffer, capacity: number, sealed?: SealedIndex) {
    this.body = body;
    this.dead = new Uint8Array(capacity);
    if (sealed === undefined) {
      this.keyAt = new Float64Array(capacity);
      this.hashes = new Int32Array(capacity);
      return;
    }
    if (sealed.keyAt.length !== capacity || sealed.added > capacity || sealed.table.length < 2 * sealed.added) throw new Error('internal: a sealed index of another size');
    this.keyAt = sealed.keyAt;
    this.table = sealed.table;
    this.mask = sealed.table.length / 2 - 1;
    this.added = sealed.added;
  }

  /** The body and the arrays of a sealed index, to make it again on another thread. */
  handOver(): { body: Buffer; sealed: SealedIndex } {
    if (this.hashes !== undefined || this.killed > 0) throw new Error('internal: an index is handed over sealed and unchanged');
    return { body: this.body, sealed: { keyAt: this.keyAt, table: this.table, added: this.added } };
  }

  /** Entries added, the dead ones included (places run 0 .. count-1 in body order). */
  get count(): number {
    return this.added;
  }

  /** Entries not changed since the restore. */
  get alive(): number {
    return this.added - this.killed;
  }

  /** Adds the entry whose key starts at `keyAt` (after its u32 length), in body order; seal() once all are added. */
  add(keyAt: number, keyBytes: number): void {
    if (this.hashes === undefined) throw new Error('internal: the index is sealed');
    const place = this.added++;
    this.keyAt[place] = keyAt;
    this.hashes[place] = hashBytes(this.body, keyAt, keyBytes);
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
    let slotBits = 4;
    while (1 << slotBits < n * 2) slotBits++;
    const mask = (1 << slotBits) - 1;
    const shift = Math.max(0, slotBits - runBits);
    // runStarts[r + 1] counts run r's entries, then the sums make runStarts[r] where run r starts in `sorted`.
    const runStarts = new Int32Array((mask >>> shift) + 2);
    for (let place = 0; place < n; place++) {
      const run = ((hashes[place] as number) & mask) >>> shift;
      runStarts[run + 1] = (runStarts[run + 1] as number) + 1;
    }
    for (let run = 1; run < runStarts.length; run++) runStarts[run] = (runStarts[run] as number) + (runStarts[run - 1] as number);
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
    this.hashes = undefined;
    return -1;
  }

  /** The place of `key`, or -1; dead places only when asked (a moved key still has its place in the order). */
  find(key: string, includeDead = false): number {
    const encoded = utf8Of(key);
    const hash = encoded === undefined ? hashAscii(key) : hashBytes(encoded, 0, encoded.length);
    const { table, mask } = this;
    let i = hash & mask;
    for (let slot = table[2 * i + 1] ?? emptySlot; slot !== emptySlot; slot = table[2 * i + 1] ?? emptySlot) {
      if (table[2 * i] === hash && this.keyEquals(slot, key, encoded)) return includeDead || this.dead[slot] === 0 ? slot : -1;
      i = (i + 1) & mask;
    }
    return -1;
  }

  isDead(place: number): boolean {
    return this.dead[place] === 1;
  }

  /** The key moved to the store's Map, or was deleted: its entry here is no longer current. */
  kill(place: number): void {
    if (this.dead[place] === 1) return;
    this.dead[place] = 1;
    this.killed++;
  }

  key(place: number): string {
    const at = this.keyAt[place] ?? 0;
    return this.body.toString('utf8', at, at + this.keyBytes(place));
  }

  /** The packed entry (entry.ts) as a string, made on each call. */
  entry(place: number): string {
    const entryAt = (this.keyAt[place] ?? 0) + this.keyBytes(place) + 4;
    return this.body.toString('latin1', entryAt, entryAt + this.body.readUInt32BE(entryAt - 4));
  }

  private keyBytes(place: number): number {
    return this.body.readUInt32BE((this.keyAt[place] ?? 0) - 4);
  }

  private keyBytesEqual(place: number, other: number): boolean {
    const at = this.keyAt[place] ?? 0;
    const otherAt = this.keyAt[other] ?? 0;
    const bytes = this.keyBytes(place);
    return this.keyBytes(other) === bytes && this.body.compare(this.body, otherAt, otherAt + bytes, at, at + bytes) === 0;
  }

  private keyEquals(place: number, key: string, encoded: Buffer | undefined): boolean {
    const at = this.keyAt[place] ?? 0;
    const bytes = this.keyBytes(place);
    if (encoded !== undefined) return bytes === encoded.length && this.body.compare(encoded, 0, bytes, at, at + bytes) === 0;
    if (bytes !== key.length) return false;
    for (let i = 0; i < bytes; i++) if (this.body[at + i] !== key.charCodeAt(i)) return false;
    return true;
  }
}

/** The key's UTF-8 bytes, or undefined when it is ASCII (then its char codes are its bytes). */
function utf8Of(key: string): Buffer | undefined {
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0x7f) return Buffer.from(key, 'utf8');
  return undefined;
}

// FNV-1a over the bytes, then a finalizer so that keys differing only in their last characters spread over the table.
const fnvOffset = 0x811c9dc5;
const fnvPrime = 0x01000193;
const finish = (h: number): number => {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
};

function hashBytes(bytes: Buffer, at: number, length: number): number {
  let h = fnvOffset;
  for (let i = at, end = at + length; i < end; i++) h = Math.imul(h ^ (bytes[i] as number), fnvPrime); // callers pass ranges within the buffer
  return finish(h);
}

function hashAscii(key: string): number {
  let h = fnvOffset;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), fnvPrime);
  return finish(h);
}
