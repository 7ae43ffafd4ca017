// The synchronous heart of a view: the store, the position vector, chunk application, change listeners, version
// waiters and reads. No I/O and no awaits in here: a chunk is applied in one go, so readers never see half of it.
import { HotstateError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ViewMetrics } from '../metrics.ts';
import type { FetchedRecord } from '../transport/transport.ts';
import { formatVersionToken, otherIncarnation, parseVersionToken, type VersionVector } from '../version-token.ts';
import { entryValueBytes } from '../store/entry.ts';
import { frameSchemaId } from '../codec/confluent-avro.ts';
import type { BaseIndex } from '../store/base-index.ts';
import { SnapshotStore } from '../store/store.ts';
import { itemOf, ViewSnapshot, type Item } from '../store/view-snapshot.ts';
import type { WriterSchemas } from './writer-schemas.ts';
import { keyText, type Poison } from './poison.ts';
import type { Change as ViewChange, ChangeListenerOptions, PinStatus, ReplayProgress } from './data-types.ts';
import type { Change } from '../sources/change-shape.ts';

export type { Change, ChangeListenerOptions, PinStatus } from './data-types.ts';

/** Records of one partition to apply, as fetched: poison by index, `next` the position after them. */
export interface ChunkPart {
  readonly partition: number;
  readonly records: readonly FetchedRecord[];
  readonly poison: ReadonlyMap<number, unknown>;
  readonly next: number;
}
import { entryPartition, isTombstone } from '../store/entry.ts';
import { DeletedKeys } from '../store/deleted-keys.ts';
import { VersionWaiters } from './version-waiters.ts';
import { ChangeListeners } from './change-listeners.ts';
import { KeyPartitionRule } from './key-partition-rule.ts';
import { replayProgress } from './replay-progress.ts';

/** The key of a record that is not poison (checkRecords refuses keys that are not UTF-8). */
const textOf = (record: FetchedRecord): string => keyText(record) ?? '';

interface Pin {
  readonly since: number;
  readonly reason: string;
  readonly store: SnapshotStore;
  readonly snapshot: ViewSnapshot;
  readonly size: number;
  heldChanges: ViewChange[];
}

export class ViewData {
  readonly topic: string;
  /** The incarnation of the topic being read (its versions carry it); set once the topic is described. */
  topicId: string | undefined;
  private readonly schemas: WriterSchemas;
  private readonly metrics: ViewMetrics | undefined;
  private readonly log: Logger;
  private store = new SnapshotStore();
  private readonly poisoned = new Set<string>();
  private deletedKeys = new DeletedKeys(Number.POSITIVE_INFINITY);
  private positions = new Map<number, number>();
  private readonly listeners: ChangeListeners;
  private readonly waiters = new VersionWaiters();
  /** Set once the view closed: waits that are not already satisfied fail with it. */
  private closedWith: Error | undefined;
  /** Timestamp of the last applied record (0 before the first). */
  lastAppliedTimestamp = 0;
  /** When a position last moved (epoch ms). */
  lastProgressAt = Date.now();
  /** When each partition's position last moved (absent: not since the last reset). */
  private readonly progressAt = new Map<number, number>();
  private resetAt = Date.now();
  /** Records applied since the last reset. */
  appliedRecords = 0;
  /** Keys arriving in a partition other than the one holding them (status() shows the count and recent ones). */
  readonly conflicts: KeyPartitionRule;
  private pinned: Pin | undefined;

  constructor(topic: string, schemas: WriterSchemas, metrics: ViewMetrics | undefined, log: Logger) {
    this.topic = topic;
    this.schemas = schemas;
    this.metrics = metrics;
    this.log = log;
    this.listeners = new ChangeListeners(log);
    this.conflicts = new KeyPartitionRule(topic, metrics, log);
  }

  /** Empties the store (a rebuild) and starts over from these positions; tombstones are remembered for `deleteRetentionMs`. */
  reset(positions: ReadonlyMap<number, number>, deleteRetentionMs = Number.POSITIVE_INFINITY): void {
    // A pin survives a rebuild: it reads the old store, which nothing writes to any more. Changes held back for it
    // belong to offsets that start over, so they go (change feeds resync on a rebuild anyway).
    if (this.pinned) this.pinned.heldChanges = [];
    this.store = new SnapshotStore();
    this.deletedKeys = new DeletedKeys(deleteRetentionMs);
    this.poisoned.clear();
    this.positions = new Map(positions);
    this.conflicts.reset(positions.size);
    this.appliedRecords = 0;
    this.lastProgressAt = Date.now();
    this.resetAt = this.lastProgressAt;
    this.progressAt.clear();
  }

  /** When the partition's position last moved (the last reset if it has not since). */
  progressedAt(partition: number): number {
    return this.progressAt.get(partition) ?? this.resetAt;
  }

  /** A replay up to `ends` starts from the current positions: each listener with a replay tail learns its window. */
  startReplayWindow(ends: ReadonlyMap<number, number>): void {
    this.listeners.startReplayWindow(ends, (partition) => this.position(partition));
  }

  /** Makes room off the heap for a replay of `records` records about to start. */
  reserve(records: number): void {
    this.store.reserve(records);
  }

  /** The entries of a snapshot being restored (after reset to its positions). */
  loadBase(base: BaseIndex): void {
    this.store.loadBase(base);
  }

  /** Replay progress from the start and end offsets captured when the replay began. */
  progress(starts: ReadonlyMap<number, number>, ends: ReadonlyMap<number, number>, startedAt: number): ReplayProgress {
    const seconds = (performance.now() - startedAt) / 1000;
    return replayProgress(starts, ends, (partition) => this.position(partition), this.appliedRecords, seconds);
  }

  position(partition: number): number {
    return this.positions.get(partition) ?? 0;
  }

  /** Positions sorted by partition. */
  positionEntries(): Array<[number, number]> {
    return [...this.positions].sort(([a], [b]) => a - b);
  }

  /**
   * Applies chunks (of one partition, or of several: a database transaction's changes) as one step, moving each
   * partition's position to its `next`; listeners hear of the changes once all are applied. Poison records keep the
   * key's last good value and mark it: `poison` is checkRecords' verdict (every record without a UTF-8 key is in it).
   * `live` (caught up) decides whether update latency is observed. Returns, part for part, the records that turned
   * out undecodable while building change events (the guard should have refused them): they are treated as poison
   * too, never left to throw halfway through. While the store takes key bytes (a replay), a key's string is made
   * only when something needs it (a listener, a tombstone, a conflict, a poisoned key).
   */
  apply(parts: readonly ChunkPart[], live: boolean): Array<Map<number, Poison>> {
    const changes: ViewChange[] = [];
    const late = parts.map((part) => this.applyPart(part, live, changes));
    if (this.pinned) this.pinned.heldChanges.push(...changes);
    else this.listeners.notify(changes, !live);
    return late;
  }

  private applyPart(
    { partition, records, poison, next }: ChunkPart,
    live: boolean,
    changes: ViewChange[],
  ): Map<number, Poison> {
    const late = new Map<number, Poison>();
    const listening = this.listeners.any;
    const tellFrom = live ? 0 : this.listeners.replayFrom(partition);
    const now = Date.now();
    let upserts = 0;
    let deletes = 0;
    let schemaId: number | undefined;
    let sameSchema = 0;
    this.store.bulk = !live; // replaying: entries go off the heap
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      if (record === undefined || record.keyLength < 0) continue;
      if (poison.has(i)) {
        const key = keyText(record);
        if (key !== null) this.poisoned.add(key);
        continue;
      }
      const { offset, timestamp, valueLength } = record;
      const byBytes = this.store.takesKeyBytes;
      // The key's string, once something needs it; while byBytes the store does not.
      let key: string | undefined;
      const notify = listening && offset >= tellFrom;
      const current = byBytes ? this.store.currentOfRecord(record) : this.store.current((key = textOf(record)));
      const held = current === undefined || isTombstone(current) ? undefined : current;
      let heldBy = held === undefined ? undefined : entryPartition(held);
      if (held === undefined && this.deletedKeys.size > 0) {
        const hash = byBytes ? this.store.recordKeyHash : this.store.keyHash((key ??= textOf(record)));
        if (this.deletedKeys.mayHold(hash)) heldBy = this.deletedKeys.partitionOf((key ??= textOf(record)), hash);
      }
      if (
        heldBy !== undefined &&
        heldBy !== partition &&
        !this.conflicts.arrivingWins((key ??= textOf(record)), record.partitionKey, heldBy, partition, offset)
      )
        continue;
      let decoded: Change | undefined;
      if (notify && valueLength >= 0) {
        key ??= textOf(record);
        try {
          const bytes = record.value as Buffer;
          decoded = this.schemas.decodeChange(frameSchemaId(bytes), bytes);
        } catch (error) {
          late.set(i, { reason: 'malformed', detail: `does not decode: ${(error as Error).message}` });
          this.poisoned.add(key);
          continue;
        }
      }
      const previous = byBytes
        ? this.store.applyRecord(current, record, partition)
        : this.store.applyOver(current, (key ??= textOf(record)), partition, offset, timestamp, record.value);
      if (this.poisoned.size > 0) this.poisoned.delete((key ??= textOf(record)));
      if (valueLength < 0) {
        deletes++;
        this.deletedKeys.remember((key ??= textOf(record)), partition, now);
      } else {
        upserts++;
        const id = frameSchemaId(record.bytes, record.valueAt);
        if (id !== schemaId) {
          this.countSchema(schemaId, sameSchema);
          schemaId = id;
          sameSchema = 0;
        }
        sameSchema++;
      }
      if (notify && (previous !== undefined || valueLength >= 0)) {
        changes.push({
          key: key ?? textOf(record),
          previous: previous === undefined ? undefined : this.decodePrevious(previous),
          value: decoded?.row,
          partition,
          offset,
          timestamp,
          ...(decoded?.source === undefined ? {} : { source: decoded.source }),
        });
      }
      if (live) this.metrics?.updateLatency.observe({ topic: this.topic }, Math.max(0, now - timestamp) / 1000);
      this.lastAppliedTimestamp = timestamp;
    }
    this.countSchema(schemaId, sameSchema);
    this.appliedRecords += records.length;
    if (this.metrics) {
      if (upserts > 0) this.metrics.applied.inc({ topic: this.topic, operation: 'upsert' }, upserts);
      if (deletes > 0) this.metrics.applied.inc({ topic: this.topic, operation: 'delete' }, deletes);
      this.metrics.keys.set({ topic: this.topic }, this.store.size);
    }
    this.advance(partition, next);
    return late;
  }

  /** The value a change replaces; one that cannot be decoded (it was never checked by a listener) is left out. */
  private decodePrevious(entry: string): unknown {
    try {
      return this.decodeEntry(entry).row;
    } catch {
      return undefined;
    }
  }

  private countSchema(id: number | undefined, n: number): void {
    if (id === undefined || n === 0) return;
    this.schemas.counts.set(id, (this.schemas.counts.get(id) ?? 0) + n);
    this.metrics?.recordsBySchema.inc({ topic: this.topic, schema_id: String(id) }, n);
  }

  /** Moves a position forward (never back) and wakes version waiters; true when it moved. */
  advance(partition: number, next: number): boolean {
    if (next <= this.position(partition)) return false;
    this.positions.set(partition, next);
    this.lastProgressAt = Date.now();
    this.progressAt.set(partition, this.lastProgressAt);
    this.metrics?.position.set({ topic: this.topic, partition: String(partition) }, next);
    this.waiters.wake();
    return true;
  }

  // ---- reads ----

  private readonly decodeEntry = (entry: string): Change => {
    const bytes = entryValueBytes(entry);
    return this.schemas.decodeChange(frameSchemaId(bytes), bytes);
  };

  private visiblePosition(partition: number): number {
    return this.pinned ? (this.pinned.snapshot.version.positions.get(partition) ?? 0) : this.position(partition);
  }

  /** The entry readers see for `key`: the pinned version's while pinned, else the current one. */
  private visibleEntry(key: string): string | undefined {
    return this.pinned ? this.pinned.snapshot.entry(key) : this.store.get(key);
  }

  get<T = unknown>(key: string): Item<T> | undefined {
    const entry = this.visibleEntry(key);
    return entry === undefined ? undefined : itemOf<T>(key, entry, this.decodeEntry);
  }

  valueBytes(key: string): Buffer | undefined {
    const entry = this.visibleEntry(key);
    return entry === undefined ? undefined : entryValueBytes(entry);
  }

  keys(): string[] {
    const entries = this.pinned ? this.pinned.snapshot.entries() : this.store.entries();
    return [...entries].map(([key]) => key);
  }

  has(key: string): boolean {
    return this.visibleEntry(key) !== undefined;
  }

  isPoisoned(key: string): boolean {
    return this.poisoned.has(key);
  }

  get size(): number {
    return this.pinned ? this.pinned.size : this.store.size;
  }

  /** The version readers see (the pinned one while pinned). */
  get version(): VersionVector {
    return this.pinned ? this.pinned.snapshot.version : this.appliedVersion;
  }

  /** The version applied, pinned or not. */
  get appliedVersion(): VersionVector {
    return { topic: this.topic, topicId: this.topicId, positions: new Map(this.positions) };
  }

  get token(): string {
    return this.pinned ? this.pinned.snapshot.token : formatVersionToken(this.version);
  }

  getMany<T = unknown>(keys: readonly string[]): { token: string; items: Map<string, Item<T>> } {
    const items = new Map<string, Item<T>>();
    for (const key of keys) {
      const item = this.get<T>(key);
      if (item) items.set(key, item);
    }
    return { token: this.token, items };
  }

  /** A consistent read of the version readers see. */
  snapshot(): ViewSnapshot {
    if (!this.pinned) return this.appliedSnapshot();
    // Its own positions map: the store tracks open snapshots by identity, and releasing this one must not end the pin.
    const { version } = this.pinned.snapshot;
    return new ViewSnapshot(this.pinned.store, { ...version, positions: new Map(version.positions) }, this.decodeEntry);
  }

  /** Keys and packed entries applied (a synchronous pass; for tools that rebuild a version, not for readers). */
  appliedEntries(): IterableIterator<[string, string]> {
    return this.store.entries();
  }

  /** A consistent read of the applied version, pinned or not (snapshot files hold what was applied). */
  appliedSnapshot(): ViewSnapshot {
    return new ViewSnapshot(this.store, this.appliedVersion, this.decodeEntry);
  }

  // ---- pinning ----

  /**
   * Freezes what readers see at the current version; applying goes on underneath (the store keeps the pinned
   * entry of every key changed since), so unpinning is instant and never needs a refetch. Waits for a newer version
   * fail with HOTSTATE_ERR_VIEW_PINNED. Pinning a pinned view keeps the first pin.
   */
  pin(reason: string): PinStatus {
    if (!this.pinned) {
      const snapshot = this.appliedSnapshot();
      this.pinned = { since: Date.now(), reason, store: this.store, snapshot, size: this.store.size, heldChanges: [] };
      this.waiters.wake();
    }
    return this.pinStatus() as PinStatus;
  }

  /** Shows readers the applied version again, in one step, and hands held-back changes to listeners in order. */
  unpin(): { heldSeconds: number; changes: number } | undefined {
    const pin = this.pinned;
    if (!pin) return undefined;
    this.pinned = undefined;
    pin.snapshot.release();
    this.listeners.notify(pin.heldChanges);
    this.waiters.wake();
    return { heldSeconds: (Date.now() - pin.since) / 1000, changes: pin.heldChanges.length };
  }

  pinStatus(): PinStatus | undefined {
    const pin = this.pinned;
    if (!pin) return undefined;
    let behind = 0;
    for (const [partition, next] of this.positions)
      behind += Math.max(0, next - (pin.snapshot.version.positions.get(partition) ?? 0));
    return {
      since: pin.since,
      reason: pin.reason,
      version: pin.snapshot.token,
      recordsBehind: behind,
      heldKeys: pin.store.heldKeys,
      heldChanges: pin.heldChanges.length,
    };
  }

  onChange<T = unknown>(listener: (change: ViewChange<T>) => void, options: ChangeListenerOptions = {}): () => void {
    return this.listeners.add(listener, options);
  }

  /** Resolves once every partition named in the token has been applied up to it; rejects on timeout or failWaiters. */
  async waitFor(token: string, timeoutMs: number): Promise<void> {
    const wanted = parseVersionToken(token);
    if (wanted.topic !== this.topic)
      throw new HotstateError(
        'HOTSTATE_ERR_TOKEN_TOPIC',
        `version token is for topic ${wanted.topic}, this view holds ${this.topic}`,
      );
    const elsewhere = otherIncarnation(wanted, this.topicId);
    if (elsewhere !== undefined)
      throw new HotstateError('HOTSTATE_ERR_VERSION_UNREACHABLE', `this view cannot reach ${token}: ${elsewhere}`);
    const covered = (): boolean => [...wanted.positions].every(([p, next]) => this.visiblePosition(p) >= next);
    if (covered()) return;
    if (this.closedWith) throw this.closedWith;
    if (this.pinned) throw this.pinnedError(token);
    await this.waiters.wait(
      covered,
      () => (this.pinned ? this.pinnedError(token) : undefined),
      timeoutMs,
      () =>
        new HotstateError(
          'HOTSTATE_ERR_WAIT_TIMEOUT',
          `view of ${this.topic} did not reach ${token} within ${String(timeoutMs)} ms (now at ${this.token})`,
          { retriable: true },
        ),
    );
  }

  private pinnedError(token: string): HotstateError {
    const pin = this.pinned;
    return new HotstateError(
      'HOTSTATE_ERR_VIEW_PINNED',
      `view of ${this.topic} is pinned at ${pin?.snapshot.token ?? '?'} since ${new Date(pin?.since ?? 0).toISOString()} (${pin?.reason ?? ''}): ${token} is newer; unpin to read it`,
      { retriable: true },
    );
  }

  /** The view closed: pending and later waits that are not satisfied fail with `error`. */
  close(error: Error): void {
    this.closedWith = error;
    this.waiters.failAll(error);
  }
}
