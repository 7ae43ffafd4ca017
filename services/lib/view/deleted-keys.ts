// The partition of each recent tombstone, so that the key-partition rule (see ViewData.arrivingWins) also holds
// for keys that are deleted: a tombstone in the winning partition must keep beating a stray record of the same key
// in another partition whichever of them is fetched first. Kept as long as the topic keeps tombstones
// (delete.retention.ms): two generations, rotated every half of it, so a marker lives between one half and one
// whole retention period after its tombstone was applied; after that a fresh replay could not see the tombstone either.
export class DeletedKeys {
  private recent = new Map<string, number>();
  private older = new Map<string, number>();
  private rotatedAt = Date.now();
  private readonly halfLifeMs: number;

  constructor(retentionMs: number) {
    this.halfLifeMs = retentionMs / 2;
  }

  get size(): number {
    return this.recent.size + this.older.size;
  }

  /** The partition whose tombstone last deleted the key, if that is recent. Only asked while the store does not hold
   * the key, so a marker left from before the key came back is never used. */
  partitionOf(key: string): number | undefined {
    if (this.recent.size === 0 && this.older.size === 0) return undefined; // a lookup would still hash the key
    const partition = this.recent.get(key);
    return partition !== undefined || this.older.size === 0 ? partition : this.older.get(key);
  }

  remember(key: string, partition: number, now: number): void {
    if (now - this.rotatedAt >= this.halfLifeMs) {
      this.older = this.recent;
      this.recent = new Map();
      this.rotatedAt = now;
    }
    this.older.delete(key);
    this.recent.set(key, partition);
  }
}
