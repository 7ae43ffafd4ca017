// The view: replays a dataset topic from the beginning into memory in every instance, keeps tailing it, and
// versions the whole state by the per-partition position vector.
//
// It reads through the transport's partition reader (manual assignment, no consumer group). Each chunk is checked
// first (poison, unknown schema ids settled with the registry, dead letters written), then applied synchronously
// in one go: readers never see half a chunk. Its lifecycle is one explicit state (view-state.ts).
import { EventEmitter } from 'node:events';
import type { Registry } from 'prom-client';
import { parseAvroSchema } from '../codec/confluent-avro.ts';
import { HotstateError, isHotstateError } from '../errors.ts';
import { createLogger, type Logger } from '../logger.ts';
import { viewMetrics, type ViewMetrics } from '../metrics.ts';
import { valueSubject } from '../registry.ts';
import { createPlatformaticTransport } from '../transport/platformatic-transport.ts';
import type { FetchedRecord, KafkaConnection, PartitionChunk, PartitionReader, ReadProblem, TopicLayout, Transport } from '../transport/transport.ts';
import { formatVersionToken, parseVersionToken, type VersionVector } from '../version-token.ts';
import { DeadLetterWriter } from './dead-letters.ts';
import { entryValueBytes } from './entry.ts';
import { findPoison, keyOf, schemaIdOf, unsettledSchemaIds, type Poison } from './poison.ts';
import { SnapshotStore } from './store.ts';
import { itemOf, ViewSnapshot, type Item } from './view-snapshot.ts';
import { ViewStateMachine, type FailureKind, type RebuildReason, type ViewState, type ViewStateName } from './view-state.ts';
import { registrySchemaSource, WriterSchemas, type SchemaSource } from './writer-schemas.ts';

export type { Item } from './view-snapshot.ts';
export { ViewSnapshot } from './view-snapshot.ts';
export type { ViewState, ViewStateName, RebuildReason, FailureKind } from './view-state.ts';

export type PoisonPolicy = 'fail' | 'skip' | 'dead-letter';

export interface ViewOptions {
  readonly kafka: KafkaConnection;
  readonly registryUrl: string;
  readonly topic: string;
  /** Resolve every record to this schema (Avro JSON text or object). @defaultValue each record's writer schema */
  readonly readerSchema?: string | object;
  /** What a poison record does. @defaultValue `skip` */
  readonly poisonPolicy?: PoisonPolicy;
  /** Must exist when the policy is `dead-letter`. @defaultValue `<topic>.hotstate-dlq` */
  readonly deadLetterTopic?: string;
  /** Values above this size are poison. @defaultValue `1000000` */
  readonly maxValueBytes?: number;
  /** How often end offsets are checked for truncation, recreation and lag. @defaultValue `5000` */
  readonly healthCheckIntervalMs?: number;
  /** A ready view that has not advanced for this long while records wait is `stale`. @defaultValue `5000` */
  readonly staleAfterMs?: number;
  /** The Kafka client seam. @defaultValue the @platformatic/kafka transport on `kafka` */
  readonly transport?: Transport;
  /** Where writer schemas come from. @defaultValue the registry at `registryUrl` */
  readonly schemaSource?: SchemaSource;
  readonly metrics?: Registry;
  readonly logger?: Logger;
}

export interface Change<T = unknown> {
  readonly key: string;
  /** undefined when the key was created. */
  readonly previous: T | undefined;
  /** undefined when the key was deleted. */
  readonly value: T | undefined;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
}

export interface ReplayProgress {
  readonly records: number;
  /** 0..1 of the records between the start and the end offsets captured at start. */
  readonly share: number;
  readonly recordsPerSecond: number;
  readonly etaSeconds: number | undefined;
}

export interface ViewStatus {
  readonly state: ViewStateName;
  /** Replayed and serving (possibly stale). */
  readonly ready: boolean;
  /** Why the view is not ready or not fresh. */
  readonly reason: string | undefined;
  readonly failed: boolean;
  /** Set while a replayed view is not advancing although records wait, or cannot fetch. */
  readonly stale: { readonly since: number; readonly reason: string } | undefined;
  readonly keys: number;
  readonly version: string;
  readonly progress: ReplayProgress;
  /** Per partition: the view position, the latest end offset seen, and their difference. */
  readonly partitions: ReadonlyArray<{ partition: number; position: number; end: number; lag: number }>;
}

export interface ViewEvents {
  state: [state: ViewState, previous: ViewState];
  ready: [];
  rebuild: [reason: RebuildReason];
  poison: [poison: { partition: number; offset: number; key: string | null } & Poison];
}

const FRESHNESS_TICK_MS = 1000;

export class HotstateView extends EventEmitter<ViewEvents> {
  readonly topic: string;
  /** Resolves when the view first becomes ready; rejects when it fails or closes before that. */
  readonly ready: Promise<void>;
  private readonly options: ViewOptions;
  private readonly transport: Transport;
  private readonly ownsTransport: boolean;
  private readonly log: Logger;
  private readonly metrics: ViewMetrics | undefined;
  private readonly schemas: WriterSchemas;
  private readonly machine = new ViewStateMachine();
  private store = new SnapshotStore();
  private readonly poisoned = new Set<string>();
  private positions = new Map<number, number>();
  /** End offsets captured when the replay started: ready once every position reaches them. */
  private ends = new Map<number, number>();
  private starts = new Map<number, number>();
  /** Latest end offset seen per partition (fetch answers and health checks). */
  private readonly latestEnds = new Map<number, number>();
  private readonly unavailable = new Map<number, string>();
  private layout: TopicLayout | undefined;
  private reader: PartitionReader | undefined;
  private generation = 0;
  private deadLetters: DeadLetterWriter | undefined;
  private timers: NodeJS.Timeout[] = [];
  private changeListeners: Array<{ prefix: string; fn: (change: Change) => void }> = [];
  private readonly waiters = new Set<{ check: () => void; fail: (error: Error) => void }>();
  private replayStarted = 0;
  private replayRecords = 0;
  private lastProgressAt = Date.now();
  private deleteRetentionMs = Number.POSITIVE_INFINITY;
  private lastAppliedTimestamp = 0;
  private checking = false;
  /** Became ready at least once: a registry wait then returns to `ready`, not `replaying`. */
  private readyOnce = false;
  private settleReady: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(options: ViewOptions) {
    super();
    this.options = options;
    this.topic = options.topic;
    this.ownsTransport = options.transport === undefined;
    this.transport = options.transport ?? createPlatformaticTransport({ clientId: 'hotstate-view', ...options.kafka });
    this.log = (options.logger ?? createLogger()).child({ component: 'view', topic: options.topic });
    this.metrics = options.metrics ? viewMetrics(options.metrics) : undefined;
    this.schemas = new WriterSchemas(options.schemaSource ?? registrySchemaSource(options.registryUrl), valueSubject(options.topic), options.readerSchema === undefined ? undefined : parseAvroSchema(options.readerSchema));
    this.ready = new Promise((resolve, reject) => { this.settleReady = { resolve, reject }; });
    this.ready.catch(() => undefined); // callers who never await `ready` must not see an unhandled rejection
    this.machine.onTransition((state, previous) => { this.onTransition(state, previous); });
  }

  /** Starts the replay; resolves once fetching has begun (await `ready` for the replay to finish). */
  async start(): Promise<void> {
    const configs = await this.transport.topicConfigs(this.topic);
    this.deleteRetentionMs = Number(configs['delete.retention.ms'] ?? Number.POSITIVE_INFINITY);
    if (this.options.poisonPolicy === 'dead-letter') {
      this.deadLetters = await DeadLetterWriter.open(this.transport, this.topic, this.options.deadLetterTopic ?? `${this.topic}.hotstate-dlq`);
    }
    await this.startReplay();
    this.timers = [
      setInterval(() => { void this.checkHealth(); }, this.options.healthCheckIntervalMs ?? 5000),
      setInterval(() => { this.checkFreshness(); }, FRESHNESS_TICK_MS),
    ];
    for (const timer of this.timers) timer.unref();
  }

  private async startReplay(): Promise<void> {
    const generation = ++this.generation;
    const layout = await this.transport.layout(this.topic);
    if (!layout) throw new HotstateError('HOTSTATE_ERR_NOT_FOUND', `topic ${this.topic} does not exist`);
    const offsets = await this.transport.offsets(this.topic);
    this.layout = layout;
    this.ends = new Map(offsets.map((p) => [p.partition, p.end]));
    this.starts = new Map(offsets.map((p) => [p.partition, p.start]));
    this.positions = new Map(offsets.map((p) => [p.partition, p.start]));
    for (const { partition, end } of offsets) this.latestEnds.set(partition, end);
    this.replayStarted = performance.now();
    this.replayRecords = 0;
    this.lastProgressAt = Date.now();
    this.reader = this.transport.read(layout, this.positions, {
      chunk: (chunk) => (generation === this.generation ? this.onChunk(chunk) : undefined),
      problem: (problem) => { if (generation === this.generation) this.onReadProblem(problem); },
      recovered: (partitions) => {
        if (generation !== this.generation) return;
        for (const p of partitions) this.unavailable.delete(p);
        this.checkFreshness();
      },
    });
    this.checkReady();
  }

  // ---- applying ----

  private closedOrFailed(): boolean {
    return this.machine.name === 'failed' || this.machine.name === 'closed';
  }

  private async onChunk(chunk: PartitionChunk): Promise<void> {
    if (this.closedOrFailed()) return;
    const { partition, records } = chunk;
    this.latestEnds.set(partition, Math.max(chunk.highWatermark, this.latestEnds.get(partition) ?? 0));
    const maxValueBytes = this.options.maxValueBytes ?? 1_000_000;
    const unknown = unsettledSchemaIds(records, this.schemas, maxValueBytes);
    if (unknown.length > 0) await this.settleSchemas(unknown);
    if (this.closedOrFailed()) return;
    const poison = findPoison(records, this.schemas, maxValueBytes);
    if (poison.size > 0 && !(await this.handlePoison(partition, records, poison))) return;
    this.apply(partition, records, poison, chunk.next, chunk.highWatermark);
  }

  /** Fetches unknown writer schemas; while the registry is down, waits with backoff and reports it. */
  private async settleSchemas(ids: readonly number[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.schemas.settle(ids);
        if (this.machine.name === 'waiting-registry') {
          this.log.info('schema registry reachable again');
          this.machine.to(this.readyOnce ? 'ready' : 'replaying', { reason: this.readyOnce ? undefined : 'replaying' });
          this.checkReady();
        }
        return;
      } catch (error) {
        if (!isHotstateError(error, 'HOTSTATE_ERR_REGISTRY_UNAVAILABLE') || this.machine.name === 'closed') throw error;
        const reason = `waiting for the schema registry to resolve writer schema(s) ${ids.join(', ')}: ${error.message}`;
        if (this.machine.name !== 'waiting-registry' && this.machine.can('waiting-registry')) this.machine.to('waiting-registry', { reason });
        this.log.warn({ attempt }, reason);
        await new Promise((resolve) => setTimeout(resolve, Math.min(200 * 2 ** attempt, 5000)));
      }
    }
  }

  /** Counts and logs poison; returns false when the chunk must not be applied (policy `fail`). */
  private async handlePoison(partition: number, records: readonly FetchedRecord[], poison: ReadonlyMap<number, Poison>): Promise<boolean> {
    const inOffsetOrder = [...poison].sort(([a], [b]) => a - b);
    for (const [i, why] of inOffsetOrder) {
      const record = records[i];
      if (!record) continue;
      const key = keyOf(record.key);
      this.metrics?.decodeErrors.inc({ topic: this.topic, reason: why.reason });
      this.log.warn({ partition, offset: record.offset, key, reason: why.reason, detail: why.detail }, 'poison record');
      this.emit('poison', { partition, offset: record.offset, key, ...why });
    }
    const policy = this.options.poisonPolicy ?? 'skip';
    if (policy === 'fail') {
      const [i, first] = inOffsetOrder[0] ?? [0, { detail: '' }];
      this.fail('poison', `poison record at partition ${String(partition)} offset ${String(records[i]?.offset)}: ${first.detail}`);
      return false;
    }
    if (this.deadLetters) {
      await this.deadLetters.write(inOffsetOrder.flatMap(([i, why]) => {
        const record = records[i];
        return record ? [{ partition, offset: record.offset, key: record.key, value: record.value, ...why }] : [];
      }));
      this.metrics?.deadLetters.inc({ topic: this.topic }, poison.size);
    }
    return true;
  }

  /** Synchronous on purpose: the whole chunk becomes visible at once. */
  private apply(partition: number, records: readonly FetchedRecord[], poison: ReadonlyMap<number, unknown>, next: number, highWatermark: number): void {
    const notify = this.changeListeners.length > 0;
    const changes: Change[] = [];
    const now = Date.now();
    const live = this.machine.caughtUp;
    let upserts = 0;
    let deletes = 0;
    let schemaId: number | undefined;
    let sameSchema = 0;
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      if (record === undefined) continue;
      const key = keyOf(record.key);
      if (key === null) continue;
      if (poison.has(i)) {
        this.poisoned.add(key); // the last good value stays
        continue;
      }
      const { value, offset, timestamp } = record;
      const previous = this.store.apply(key, partition, offset, timestamp, value);
      if (this.poisoned.size > 0) this.poisoned.delete(key);
      if (value === null) deletes++;
      else {
        upserts++;
        const id = schemaIdOf(value);
        if (id !== schemaId) {
          this.countSchema(schemaId, sameSchema);
          schemaId = id;
          sameSchema = 0;
        }
        sameSchema++;
      }
      if (notify && (previous !== undefined || value !== null)) {
        changes.push({
          key,
          previous: previous === undefined ? undefined : this.decodeEntry(previous),
          value: value === null ? undefined : this.decodeBytes(value),
          partition, offset, timestamp,
        });
      }
      if (live) this.metrics?.updateLatency.observe({ topic: this.topic }, Math.max(0, now - timestamp) / 1000);
      this.lastAppliedTimestamp = timestamp;
    }
    this.countSchema(schemaId, sameSchema);
    this.replayRecords += records.length;
    if (this.metrics) {
      if (upserts > 0) this.metrics.applied.inc({ topic: this.topic, operation: 'upsert' }, upserts);
      if (deletes > 0) this.metrics.applied.inc({ topic: this.topic, operation: 'delete' }, deletes);
      this.metrics.keys.set({ topic: this.topic }, this.store.size);
      this.metrics.lagRecords.set({ topic: this.topic, partition: String(partition) }, Math.max(0, highWatermark - next));
    }
    this.advance(partition, next);
    for (const change of changes) {
      for (const listener of this.changeListeners) {
        if (!change.key.startsWith(listener.prefix)) continue;
        try {
          listener.fn(change);
        } catch (error) {
          this.log.error({ err: error, key: change.key }, 'change listener threw');
        }
      }
    }
  }

  private countSchema(id: number | undefined, n: number): void {
    if (id === undefined || n === 0) return;
    this.schemas.counts.set(id, (this.schemas.counts.get(id) ?? 0) + n);
    this.metrics?.recordsBySchema.inc({ topic: this.topic, schema_id: String(id) }, n);
  }

  private advance(partition: number, next: number): void {
    if (next <= (this.positions.get(partition) ?? 0)) return;
    this.positions.set(partition, next);
    this.lastProgressAt = Date.now();
    this.metrics?.position.set({ topic: this.topic, partition: String(partition) }, next);
    for (const waiter of this.waiters) waiter.check();
    this.checkReady();
    if (this.machine.name === 'stale') this.checkFreshness();
  }

  // ---- state ----

  private onTransition(state: ViewState, previous: ViewState): void {
    this.metrics?.ready.set({ topic: this.topic }, this.machine.caughtUp ? 1 : 0);
    this.metrics?.stale.set({ topic: this.topic }, state.name === 'stale' ? 1 : 0);
    if (state.name === 'failed') {
      this.log.error({ failure: state.failure }, state.reason ?? 'view failed');
      this.settleReady?.reject(new HotstateError('HOTSTATE_ERR_NOT_READY', `view of ${this.topic} failed: ${state.reason ?? ''}`));
    }
    if (state.name === 'closed') {
      const closed = new HotstateError('HOTSTATE_ERR_CLOSED', `view of ${this.topic} is closed`);
      this.settleReady?.reject(closed);
      for (const waiter of this.waiters) waiter.fail(closed);
    }
    if (state.name === 'stale') this.log.warn({ reason: state.reason }, 'view is stale');
    if (previous.name === 'stale' && state.name === 'ready') this.log.info({ staleSeconds: (state.since - previous.since) / 1000 }, 'view is fresh again');
    this.emit('state', state, previous);
  }

  private fail(failure: FailureKind, reason: string): void {
    if (!this.machine.can('failed')) return;
    this.machine.to('failed', { reason, failure });
    const reader = this.reader;
    this.reader = undefined;
    void reader?.stop(); // not awaited: stop() waits for the chunk that may be failing right now
  }

  private checkReady(): void {
    if (this.machine.name !== 'replaying') return;
    for (const [partition, end] of this.ends) if ((this.positions.get(partition) ?? 0) < end) return;
    const seconds = (performance.now() - this.replayStarted) / 1000;
    if (seconds * 1000 > this.deleteRetentionMs) {
      this.fail('replay-slower-than-delete-retention', `the replay took ${seconds.toFixed(1)} s, longer than delete.retention.ms=${String(this.deleteRetentionMs)}: tombstones may have been purged meanwhile and deleted keys may have come back`);
      return;
    }
    this.readyOnce = true;
    this.machine.to('ready');
    this.metrics?.replaySeconds.set({ topic: this.topic }, seconds);
    this.log.info({ seconds, keys: this.store.size, records: this.replayRecords }, 'view ready');
    this.settleReady?.resolve();
    this.emit('ready');
  }

  private onReadProblem(problem: ReadProblem): void {
    if (problem.kind === 'out-of-range') {
      void this.rebuild('offset-out-of-range', `partition ${String(problem.partition)} no longer holds offset ${String(problem.position)}`);
    } else if (problem.kind === 'topic-gone') {
      void this.checkHealth();
    } else {
      for (const p of problem.partitions) this.unavailable.set(p, problem.detail);
      this.log.warn({ partitions: problem.partitions }, problem.detail);
      this.checkFreshness();
    }
  }

  /** Whether records wait that the view has not applied (by the latest end offsets it knows). */
  private behind(): boolean {
    for (const [partition, position] of this.positions) if ((this.latestEnds.get(partition) ?? 0) > position) return true;
    return false;
  }

  /** Lag in seconds and the stale state, from what the view knows now: no network call, so it never fails. */
  private checkFreshness(): void {
    const now = Date.now();
    const waiting = this.behind() || this.unavailable.size > 0;
    const since = this.lastAppliedTimestamp > 0 ? this.lastAppliedTimestamp : now - (performance.now() - this.replayStarted);
    this.metrics?.lagSeconds.set({ topic: this.topic }, waiting ? Math.max(0, now - since) / 1000 : 0);
    const notAdvancing = waiting && now - this.lastProgressAt > (this.options.staleAfterMs ?? 5000);
    const reason = this.unavailable.size > 0
      ? `cannot fetch partition(s) ${[...this.unavailable.keys()].join(', ')}: ${[...this.unavailable.values()][0] ?? ''}`
      : notAdvancing ? `records wait but nothing was applied for ${((now - this.lastProgressAt) / 1000).toFixed(1)} s` : undefined;
    if (this.machine.name === 'ready' && reason !== undefined && (notAdvancing || this.unavailable.size > 0)) this.machine.to('stale', { reason });
    else if (this.machine.name === 'stale' && this.unavailable.size === 0 && !notAdvancing) this.machine.to('ready');
  }

  /** Detects a truncated, deleted or recreated topic (rebuilds) and refreshes end offsets. Never throws. */
  private async checkHealth(): Promise<void> {
    const state = this.machine.name;
    if (state === 'closed' || this.checking) return;
    this.checking = true;
    try {
      if (state === 'rebuilding' && this.reader === undefined) {
        await this.rebuild(this.machine.state.rebuild ?? 'requested', 'retrying a rebuild that could not start');
        return;
      }
      // Positions are read before asking: only a position the broker had already passed proves a truncation.
      const asked = new Map(this.positions);
      const layout = await this.transport.layout(this.topic);
      if (!layout) {
        this.fail('topic-missing', `topic ${this.topic} does not exist (deleted?)`);
        return;
      }
      if (layout.topicId !== this.layout?.topicId || this.machine.state.failure === 'topic-missing') {
        await this.rebuild('topic-recreated', `topic ${this.topic} has a new topic id`);
        return;
      }
      const offsets = await this.transport.offsets(this.topic);
      for (const { partition, start, end } of offsets) {
        const position = asked.get(partition) ?? 0;
        if (end < position) {
          await this.rebuild('topic-truncated', `partition ${String(partition)} ends at ${String(end)}, below the view position ${String(position)}`);
          return;
        }
        if (start > position && position < end) {
          await this.rebuild('offset-out-of-range', `partition ${String(partition)} now starts at ${String(start)}, records from ${String(position)} were removed before this view read them`);
          return;
        }
        this.latestEnds.set(partition, Math.max(end, this.latestEnds.get(partition) ?? 0));
        this.metrics?.lagRecords.set({ topic: this.topic, partition: String(partition) }, Math.max(0, end - (this.positions.get(partition) ?? 0)));
      }
      this.checkFreshness();
    } catch (error) {
      this.metrics?.endOffsetCheckFailures.inc({ topic: this.topic });
      this.log.warn({ err: error }, 'end-offset check failed; lag comes from fetch answers until it works again');
    } finally {
      this.checking = false;
    }
  }

  /** Throws the state away and replays from the beginning. */
  async rebuild(reason: RebuildReason = 'requested', detail = 'requested'): Promise<void> {
    if (this.machine.name === 'closed') return;
    if (this.machine.name !== 'rebuilding') {
      this.log.warn({ reason, detail }, 'rebuilding the view');
      this.metrics?.rebuilds.inc({ topic: this.topic, reason });
      this.machine.to('rebuilding', { reason: `rebuilding (${reason}): ${detail}`, rebuild: reason });
      this.emit('rebuild', reason);
    }
    const reader = this.reader;
    this.reader = undefined;
    this.generation++;
    await reader?.stop();
    this.store = new SnapshotStore();
    this.poisoned.clear();
    this.unavailable.clear();
    this.latestEnds.clear();
    try {
      await this.startReplay();
      this.machine.to('replaying', { reason: 'replaying' });
      this.checkReady();
    } catch (error) {
      this.log.warn({ err: error }, 'rebuild could not start; the health check retries it');
    }
  }

  // ---- reading ----

  private decodeBytes(bytes: Buffer): unknown {
    return this.schemas.decode(schemaIdOf(bytes), bytes);
  }

  private readonly decodeEntry = (entry: string): unknown => this.decodeBytes(entryValueBytes(entry));

  get<T = unknown>(key: string): Item<T> | undefined {
    const entry = this.store.get(key);
    return entry === undefined ? undefined : itemOf<T>(key, entry, this.decodeEntry);
  }

  /** The stored Confluent-framed value bytes of a key (for byte-exact comparisons), or undefined. */
  valueBytes(key: string): Buffer | undefined {
    const entry = this.store.get(key);
    return entry === undefined ? undefined : entryValueBytes(entry);
  }

  /** Every key currently held (a synchronous pass, so from one version). */
  keys(): string[] {
    return [...this.store.entries()].map(([key]) => key);
  }

  has(key: string): boolean {
    return this.store.get(key) !== undefined;
  }

  /** True when the key's latest record was poison (its last good value is still served). */
  isPoisoned(key: string): boolean {
    return this.poisoned.has(key);
  }

  get size(): number {
    return this.store.size;
  }

  get state(): ViewState {
    return this.machine.state;
  }

  /** The view version: per partition, the next offset to apply. */
  get version(): VersionVector {
    return { topic: this.topic, positions: new Map(this.positions) };
  }

  get token(): string {
    return formatVersionToken(this.version);
  }

  /** Several keys read at one version (synchronously, so no chunk can land in between). */
  getMany<T = unknown>(keys: readonly string[]): { token: string; items: Map<string, Item<T>> } {
    const items = new Map<string, Item<T>>();
    for (const key of keys) {
      const item = this.get<T>(key);
      if (item) items.set(key, item);
    }
    return { token: this.token, items };
  }

  /** A consistent read-only view of the current version that stays valid across awaits until released. */
  snapshot(): ViewSnapshot {
    return new ViewSnapshot(this.store, this.version, this.decodeEntry);
  }

  /** Resolves once every partition named in the token has been applied up to it; rejects on timeout and close. */
  async waitFor(token: string, timeoutMs = 30_000): Promise<void> {
    const wanted = parseVersionToken(token);
    if (wanted.topic !== this.topic) throw new HotstateError('HOTSTATE_ERR_TOKEN_TOPIC', `version token is for topic ${wanted.topic}, this view holds ${this.topic}`);
    const covered = (): boolean => [...wanted.positions].every(([p, next]) => (this.positions.get(p) ?? 0) >= next);
    if (covered()) return;
    if (this.machine.name === 'closed') throw new HotstateError('HOTSTATE_ERR_CLOSED', `view of ${this.topic} is closed`);
    await new Promise<void>((resolve, reject) => {
      const waiter = {
        check: (): void => {
          if (!covered()) return;
          cleanup();
          resolve();
        },
        fail: (error: Error): void => {
          cleanup();
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        waiter.fail(new HotstateError('HOTSTATE_ERR_WAIT_TIMEOUT', `view of ${this.topic} did not reach ${token} within ${String(timeoutMs)} ms (now at ${this.token})`, { retriable: true }));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
    });
  }

  /** Calls `listener` for every change after its chunk is visible, in offset order per partition. */
  onChange<T = unknown>(listener: (change: Change<T>) => void, options: { prefix?: string } = {}): () => void {
    const entry = { prefix: options.prefix ?? '', fn: listener as (change: Change) => void };
    this.changeListeners.push(entry);
    return () => { this.changeListeners = this.changeListeners.filter((l) => l !== entry); };
  }

  /** Records per writer schema id applied since start. */
  recordsBySchema(): ReadonlyMap<number, number> {
    return this.schemas.counts;
  }

  progress(): ReplayProgress {
    let total = 0;
    let done = 0;
    for (const [partition, end] of this.ends) {
      const start = this.starts.get(partition) ?? 0;
      total += end - start;
      done += Math.min(end, this.positions.get(partition) ?? 0) - start;
    }
    const seconds = (performance.now() - this.replayStarted) / 1000;
    const rate = seconds > 0 ? this.replayRecords / seconds : 0;
    const share = total === 0 ? 1 : done / total;
    return { records: this.replayRecords, share, recordsPerSecond: rate, etaSeconds: rate > 0 ? (total - done) / rate : undefined };
  }

  status(): ViewStatus {
    const { state } = this.machine;
    return {
      state: state.name,
      ready: this.machine.caughtUp,
      reason: state.reason,
      failed: state.name === 'failed',
      stale: state.name === 'stale' ? { since: state.since, reason: state.reason ?? '' } : undefined,
      keys: this.store.size,
      version: this.token,
      progress: this.progress(),
      partitions: [...this.positions].sort(([a], [b]) => a - b).map(([partition, position]) => {
        const end = Math.max(this.latestEnds.get(partition) ?? 0, this.ends.get(partition) ?? 0, position);
        return { partition, position, end, lag: end - position };
      }),
    };
  }

  /** Stops tailing and closes clients; pending `ready` and `waitFor` calls reject. */
  async close(): Promise<void> {
    if (this.machine.name === 'closed') return;
    this.machine.to('closed', { reason: 'closed' });
    for (const timer of this.timers) clearInterval(timer);
    this.generation++;
    await this.reader?.stop();
    this.reader = undefined;
    await this.deadLetters?.close();
    if (this.ownsTransport) await this.transport.close();
  }
}

/** Creates a view and starts its replay (await `view.ready` for it to finish). */
export async function createView(options: ViewOptions): Promise<HotstateView> {
  const view = new HotstateView(options);
  try {
    await view.start();
  } catch (error) {
    await view.close();
    throw error;
  }
  return view;
}
