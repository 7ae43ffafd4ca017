// The partition of each recent tombstone, so that the key-partition rule (see ViewData.arrivingWins) also holds
// for keys that are deleted: a tombstone in the winning partition must keep beating a stray record of the same key
// in another partition whichever of them is fetched first. Kept as long as the topic keeps tombstones
// (delete.retention.ms): two generations, rotated every half of it, so a marker lives between one half and one
// whole retention period after its tombstone was applied; after that a fresh replay could not see the tombstone either.
import { keyHash } from './key-hash.ts';

/** Bits of the filter per remembered key: about one key in eight that was never deleted passes it. */
const filterBitsPerKey = 8;
const smallestFilterBits = 2 ** 16;

export class DeletedKeys {
  private recent = new Map<string, number>();
  private older = new Map<string, number>();
  /** One bit per hash bucket of the remembered keys: a replay asks about every key it has not seen, and a bit is
   * much cheaper than a Map lookup of a fresh string (which must hash it first). Never has a false "no". */
  private filter = new Int32Array(smallestFilterBits / 32);
  private rotatedAt = Date.now();
  private readonly halfLifeMs: number;

  constructor(retentionMs: number) {
    this.halfLifeMs = retentionMs / 2;
  }

  get size(): number {
    return this.recent.size + this.older.size;
  }

  /** The partition whose tombstone last deleted the key, if that is recent. Only asked while the store does not hold
   * the key, so a marker left from before the key came back is never used. `hash`: keyHash(key), if known. */
  partitionOf(key: string, hash?: number): number | undefined {
    if (this.recent.size === 0 && this.older.size === 0) return undefined;
    if (!this.mayHold(hash ?? keyHash(key))) return undefined;
    const partition = this.recent.get(key);
    return partition !== undefined || this.older.size === 0 ? partition : this.older.get(key);
  }

  remember(key: string, partition: number, now: number): void {
    if (now - this.rotatedAt >= this.halfLifeMs) {
      this.older = this.recent;
      this.recent = new Map();
      this.rotatedAt = now;
      this.refilter(); // drops the bits of the generation that expired
    }
    this.older.delete(key);
    this.recent.set(key, partition);
    if (this.size * filterBitsPerKey > this.filter.length * 32) this.refilter();
    else this.mark(keyHash(key));
  }

  /** False when no remembered key has this keyHash (then partitionOf answers undefined). */
  mayHold(hash: number): boolean {
    const bit = hash & (this.filter.length * 32 - 1);
    return ((this.filter[bit >>> 5] as number) & (1 << (bit & 31))) !== 0;
  }

  private mark(hash: number): void {
    const bit = hash & (this.filter.length * 32 - 1);
    this.filter[bit >>> 5] = (this.filter[bit >>> 5] as number) | (1 << (bit & 31));
  }

  private refilter(): void {
    let bits = smallestFilterBits;
    while (bits < this.size * filterBitsPerKey) bits *= 2;
    this.filter = new Int32Array(bits / 32);
    for (const key of this.recent.keys()) this.mark(keyHash(key));
    for (const key of this.older.keys()) this.mark(keyHash(key));
  }
}
