// The entries a view restored from a snapshot file, left where they are: the file's body stays one Buffer (off the
// JavaScript heap) and an open-addressing hash table of typed arrays finds a key's place in it. Restoring 1M keys
// then costs one pass over the bytes instead of two million strings and a million Map inserts (which also make
// every later garbage collection slower); a key's strings are made only when it is read. A key the view changes
// afterwards moves to the store's Map and its place here is marked dead (see store.ts).
const emptySlot = -1;

export class BaseIndex {
  private readonly body: Buffer;
  /** Where each entry's key starts in the body (its u32 length precedes it; the entry's length and bytes follow). */
  private readonly keyAt: Float64Array;
  private readonly hashes: Int32Array;
  private readonly dead: Uint8Array;
  private readonly table: Int32Array;
  private readonly mask: number;
  private added = 0;
  private killed = 0;

  constructor(body: Buffer, capacity: number) {
    this.body = body;
    this.keyAt = new Float64Array(capacity);
    this.hashes = new Int32Array(capacity);
    this.dead = new Uint8Array(capacity);
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.table = new Int32Array(size).fill(emptySlot);
    this.mask = size - 1;
  }

  /** Entries added, the dead ones included (places run 0 .. count-1 in body order). */
  get count(): number {
    return this.added;
  }

  /** Entries not changed since the restore. */
  get alive(): number {
    return this.added - this.killed;
  }

  /** Adds the entry whose key starts at `keyAt` (after its u32 length); false when the key is already there. */
  add(keyAt: number, keyBytes: number): boolean {
    const hash = hashBytes(this.body, keyAt, keyBytes);
    let i = hash & this.mask;
    for (let slot = this.table[i] ?? emptySlot; slot !== emptySlot; slot = this.table[i] ?? emptySlot) {
      if (this.hashes[slot] === hash && this.keyBytesEqual(slot, keyAt, keyBytes)) return false;
      i = (i + 1) & this.mask;
    }
    const place = this.added++;
    this.keyAt[place] = keyAt;
    this.hashes[place] = hash;
    this.table[i] = place;
    return true;
  }

  /** The place of `key`, or -1; dead places only when asked (a moved key still has its place in the order). */
  find(key: string, includeDead = false): number {
    const encoded = utf8Of(key);
    const hash = encoded === undefined ? hashAscii(key) : hashBytes(encoded, 0, encoded.length);
    let i = hash & this.mask;
    for (let slot = this.table[i] ?? emptySlot; slot !== emptySlot; slot = this.table[i] ?? emptySlot) {
      if (this.hashes[slot] === hash && this.keyEquals(slot, key, encoded)) return includeDead || this.dead[slot] === 0 ? slot : -1;
      i = (i + 1) & this.mask;
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

  private keyBytesEqual(place: number, at: number, bytes: number): boolean {
    const own = this.keyAt[place] ?? 0;
    return this.keyBytes(place) === bytes && this.body.compare(this.body, at, at + bytes, own, own + bytes) === 0;
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
