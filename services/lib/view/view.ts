// The view: replays a dataset topic from the beginning into memory in every instance, keeps tailing it, and
// versions the whole state by the per-partition position vector.
//
// Every partition in every instance: kafkajs has no manual assignment, so each view joins a consumer group of its
// own (a fresh UUID group id, so it is the only member and gets all partitions), never commits offsets, and deletes
// the group when it closes; a crashed instance leaves an empty group without offsets, which the broker drops.
// Records below the position are ignored, so a rebalance that re-delivers old records cannot roll a key back.
//
// Each fetched batch is checked first (poison detection, unknown schema ids settled with the registry,
// dead letters written), then applied synchronously in one go: readers never see half a batch.
import { isUtf8 } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { checkDatum } from '../codec/avro-guard.ts';
import { parseAvroSchema } from '../codec/confluent-avro.ts';
import { HotstateError, isHotstateError } from '../errors.ts';
import { createKafka, createSafeProducer, withAdmin, type KafkaConnection } from '../kafka/client.ts';
import { describeTopicConfigs } from '../kafka/topics.ts';
import { createLogger, type Logger } from '../logger.ts';
import { viewMetrics, type ViewMetrics } from '../metrics.ts';
import { valueSubject } from '../registry.ts';
import { formatVersionToken, parseVersionToken, type VersionVector } from '../version-token.ts';
import { entryOffset, entryPartition, entrySchemaId, entryTimestamp, entryValueBytes } from './entry.ts';
import { SnapshotStore, type Positions } from './store.ts';
import { WriterSchemas } from './writer-schemas.ts';

export type PoisonPolicy = 'fail' | 'skip' | 'dead-letter';

export interface ViewOptions {
  readonly kafka: KafkaConnection;
  readonly registryUrl: string;
  readonly topic: string;
  /** Resolve every record to this schema (Avro JSON text or object). @defaultValue each record's writer schema */
  readonly readerSchema?: string | object;
  /** What a poison record does. @defaultValue `skip` */
  readonly poisonPolicy?: PoisonPolicy;
  /** @defaultValue `<topic>.hotstate-dlq` */
  readonly deadLetterTopic?: string;
  /** Values above this size are poison. @defaultValue `1000000` */
  readonly maxValueBytes?: number;
  /** How often end offsets are checked for truncation, recreation and lag. @defaultValue `5000` */
  readonly healthCheckIntervalMs?: number;
  readonly metrics?: Registry;
  readonly logger?: Logger;
}

export interface Item<T = unknown> {
  readonly key: string;
  readonly value: T;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly schemaId: number;
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
  readonly ready: boolean;
  /** Why the view is not ready (replaying, poison record under `fail`, registry outage, rebuild, ...). */
  readonly reason: string | undefined;
  readonly failed: boolean;
  readonly keys: number;
  readonly version: string;
  readonly progress: ReplayProgress;
  /** Per partition: the view position, the latest end offset seen, and their difference. */
  readonly partitions: ReadonlyArray<{ partition: number; position: number; end: number; lag: number }>;
}

interface BatchMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly offset: string;
  readonly timestamp: string;
}

interface PoisonRecord {
  readonly key: string | null;
  readonly offset: number;
  readonly value: Buffer | null;
  readonly poison: { reason: string; detail: string };
}

const rawKey = (key: Buffer | null): string | null => (key !== null && isUtf8(key) ? key.toString('utf8') : null);

export class HotstateView extends EventEmitter {
  readonly topic: string;
  private readonly options: ViewOptions;
  private readonly kafka: Kafka;
  private readonly log: Logger;
  private readonly metrics: ViewMetrics | undefined;
  private readonly schemas: WriterSchemas;
  private store = new SnapshotStore();
  private readonly poisoned = new Set<string>();
  private positions = new Map<number, number>();
  private ends = new Map<number, number>();
  /** Latest end offset seen per partition (fetch high watermarks and health checks). */
  private latestEnds = new Map<number, number>();
  private starts = new Map<number, number>();
  private consumer: Consumer | undefined;
  private groupId = '';
  private deadLetters: Producer | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private changeListeners: Array<{ prefix: string; fn: (change: Change) => void }> = [];
  private waiters = new Set<() => void>();
  private isReady = false;
  private failure: string | undefined;
  private waitingReason: string | undefined;
  private replayStarted = 0;
  private replayRecords = 0;
  private deleteRetentionMs = Number.POSITIVE_INFINITY;
  private lastAppliedTimestamp = 0;
  private closed = false;
  private checking = false;
  private pendingRebuild: string | undefined;
  private generation = 0;
  private readyResolve: (() => void) | undefined;
  /** Resolves when the view first becomes ready. */
  ready: Promise<void>;

  constructor(options: ViewOptions) {
    super();
    this.options = options;
    this.topic = options.topic;
    this.kafka = createKafka({ clientId: 'hotstate-view', ...options.kafka });
    this.log = (options.logger ?? createLogger()).child({ component: 'view', topic: options.topic });
    this.metrics = options.metrics ? viewMetrics(options.metrics) : undefined;
    this.schemas = new WriterSchemas(options.registryUrl, valueSubject(options.topic), options.readerSchema === undefined ? undefined : parseAvroSchema(options.readerSchema));
    this.ready = new Promise((resolve) => { this.readyResolve = resolve; });
  }

  /** Starts the replay; resolves once consuming has begun (await `ready` for the replay to finish). */
  async start(): Promise<void> {
    if (this.options.poisonPolicy === 'dead-letter') {
      this.deadLetters = createSafeProducer(this.kafka);
      await this.deadLetters.connect();
    }
    const configs = await describeTopicConfigs(this.kafka, this.topic);
    this.deleteRetentionMs = Number(configs['delete.retention.ms'] ?? Number.POSITIVE_INFINITY);
    await this.startReplay();
    this.healthTimer = setInterval(() => { void this.checkHealth(); }, this.options.healthCheckIntervalMs ?? 5000);
    this.healthTimer.unref();
  }

  private async startReplay(): Promise<void> {
    const generation = ++this.generation;
    const offsets = await withAdmin(this.kafka, (admin) => admin.fetchTopicOffsets(this.topic));
    this.ends = new Map(offsets.map((p) => [p.partition, Number(p.high)]));
    this.starts = new Map(offsets.map((p) => [p.partition, Number(p.low)]));
    this.positions = new Map(offsets.map((p) => [p.partition, Number(p.low)]));
    this.replayStarted = performance.now();
    this.replayRecords = 0;
    this.groupId = `hotstate-view-${this.topic}-${randomUUID()}`;
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      maxWaitTimeInMs: 50, // kafkajs's 5 s default would make live updates arrive seconds late
      minBytes: 1,
      maxBytes: 64 * 1024 * 1024,
      maxBytesPerPartition: 16 * 1024 * 1024,
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      // Batches holding only transaction markers or aborted records never reach eachBatch; move past them here.
      // kafkajs reports `lastOffset` = the fetched offset for batches emptied by compaction, so never move past
      // the high watermark: a position beyond the log end would look like a truncated topic.
      if (payload.batchSize === 0 && generation === this.generation) {
        this.advance(payload.partition, Math.min(Number(payload.lastOffset) + 1, Number(payload.highWatermark)));
      }
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.log.error({ err: payload.error }, 'consumer crashed');
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false, // positions live in memory; a restart replays from the beginning by design
      eachBatchAutoResolve: true, // kafkajs fetches from the last resolved offset: without it, it re-fetches forever
      eachBatch: async (payload) => {
        const { batch } = payload;
        if (generation !== this.generation || this.failure !== undefined) return;
        await this.processBatch(batch.partition, batch.messages, Number(batch.lastOffset()) + 1, Number(batch.highWatermark), () => payload.heartbeat());
      },
    });
    this.checkReady();
  }

  // Hot path, one call per fetched batch: per-record work uses parallel arrays, and objects are made only for
  // poison records and change notifications.
  private async processBatch(
    partition: number,
    messages: readonly BatchMessage[],
    nextOffset: number,
    highWatermark: number,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const position = this.positions.get(partition) ?? 0;
    const maxValueBytes = this.options.maxValueBytes ?? 1_000_000;
    let first = 0;
    while (first < messages.length && Number(messages[first]?.offset) < position) first++; // re-delivered after a rebalance
    const batch = messages.slice(first);
    const keys: Array<string | null> = new Array<string | null>(batch.length);
    const poison = new Map<number, { reason: string; detail: string }>();
    const unknownIds = new Set<number>();
    batch.forEach((message, i) => {
      const key = rawKey(message.key);
      keys[i] = key;
      const v = message.value;
      if (key === null) poison.set(i, { reason: 'bad-key', detail: message.key === null ? 'record has no key' : 'key is not valid UTF-8' });
      else if (v !== null) {
        if (v.length > maxValueBytes) poison.set(i, { reason: 'too-large', detail: `value is ${String(v.length)} bytes, above ${String(maxValueBytes)}` });
        else if (v.length < 5) poison.set(i, { reason: 'truncated', detail: `value has ${String(v.length)} bytes, fewer than the 5-byte header` });
        else if (v[0] !== 0) poison.set(i, { reason: 'bad-magic-byte', detail: `magic byte is ${String(v[0])}, expected 0` });
        else {
          const schemaId = v.readUInt32BE(1);
          if (this.schemas.verdict(schemaId) === undefined) unknownIds.add(schemaId);
        }
      }
    });
    if (unknownIds.size > 0) await this.settleSchemas([...unknownIds], heartbeat);
    batch.forEach((message, i) => {
      const v = message.value;
      if (v === null || poison.has(i)) return;
      const verdict = this.schemas.verdict(v.readUInt32BE(1));
      if (!verdict?.ok) {
        poison.set(i, { reason: verdict?.reason ?? 'unknown-schema-id', detail: verdict?.detail ?? 'unknown schema' });
        return;
      }
      try {
        checkDatum(verdict.schema.type, v, 5);
      } catch (error) {
        poison.set(i, { reason: 'malformed', detail: (error as Error).message });
      }
    });
    if (poison.size > 0) {
      const inOffsetOrder = [...poison].sort(([a], [b]) => a - b);
      const records = inOffsetOrder.map(([i, why]) => ({ key: keys[i] ?? null, offset: Number(batch[i]?.offset), value: batch[i]?.value ?? null, poison: why }));
      if (!(await this.handlePoison(partition, records))) return;
    }
    this.applyBatch(partition, batch, keys, poison, nextOffset, highWatermark);
  }

  /** Fetches unknown writer schemas; while the registry is down, waits with backoff and reports not ready. */
  private async settleSchemas(ids: readonly number[], heartbeat: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.schemas.settle(ids);
        if (this.waitingReason) {
          this.waitingReason = undefined;
          this.log.info('schema registry reachable again');
          this.checkReady();
        }
        return;
      } catch (error) {
        if (!isHotstateError(error, 'HOTSTATE_ERR_REGISTRY_UNAVAILABLE') || this.closed) throw error;
        this.waitingReason = `waiting for the schema registry to resolve writer schema(s) ${ids.join(', ')}: ${error.message}`;
        this.setNotReady();
        this.log.warn({ attempt }, this.waitingReason);
        await new Promise((resolve) => setTimeout(resolve, Math.min(200 * 2 ** attempt, 5000)));
        await heartbeat();
      }
    }
  }

  /** Counts and logs poison; returns false when the batch must not be applied (policy `fail`). */
  private async handlePoison(partition: number, poison: readonly PoisonRecord[]): Promise<boolean> {
    for (const record of poison) {
      const { reason } = record.poison;
      this.metrics?.decodeErrors.inc({ topic: this.topic, reason });
      this.log.warn({ partition, offset: record.offset, key: record.key, reason, detail: record.poison.detail }, 'poison record');
      this.emit('poison', { partition, offset: record.offset, key: record.key, ...record.poison });
    }
    const policy = this.options.poisonPolicy ?? 'skip';
    if (policy === 'fail') {
      const first = poison[0];
      this.failure = `poison record at partition ${String(partition)} offset ${String(first?.offset)}: ${first?.poison.detail ?? ''}`;
      this.setNotReady();
      this.log.error(this.failure);
      void this.consumer?.stop(); // not awaited: stop() waits for this very batch to return
      return false;
    }
    if (policy === 'dead-letter' && this.deadLetters) {
      await this.deadLetters.send({
        topic: this.options.deadLetterTopic ?? `${this.topic}.hotstate-dlq`,
        acks: -1,
        messages: poison.map((r) => ({
          key: r.key,
          value: r.value,
          headers: {
            'hotstate-error': `${r.poison.reason}: ${r.poison.detail}`,
            'hotstate-source-topic': this.topic,
            'hotstate-source-partition': String(partition),
            'hotstate-source-offset': String(r.offset),
          },
        })),
      });
      this.metrics?.deadLetters.inc({ topic: this.topic }, poison.length);
    }
    return true;
  }

  /** Synchronous on purpose: the whole batch becomes visible at once. */
  private applyBatch(
    partition: number,
    batch: readonly BatchMessage[],
    keys: ReadonlyArray<string | null>,
    poison: ReadonlyMap<number, unknown>,
    nextOffset: number,
    highWatermark: number,
  ): void {
    const notify = this.changeListeners.length > 0;
    const changes: Change[] = [];
    const now = Date.now();
    let upserts = 0;
    let deletes = 0;
    let schemaId: number | undefined;
    let sameSchema = 0;
    for (let i = 0; i < batch.length; i++) {
      const key = keys[i];
      const message = batch[i];
      if (key === null || key === undefined || message === undefined) continue;
      if (poison.has(i)) {
        this.poisoned.add(key); // the last good value stays
        continue;
      }
      const { value } = message;
      const offset = Number(message.offset);
      const timestamp = Number(message.timestamp);
      const previous = this.store.apply(key, partition, offset, timestamp, value);
      if (this.poisoned.size > 0) this.poisoned.delete(key);
      if (value === null) deletes++;
      else {
        upserts++;
        const id = value.readUInt32BE(1);
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
      if (this.isReady) this.metrics?.updateLatency.observe({ topic: this.topic }, Math.max(0, now - timestamp) / 1000);
      this.lastAppliedTimestamp = timestamp;
    }
    this.countSchema(schemaId, sameSchema);
    this.replayRecords += batch.length;
    this.latestEnds.set(partition, Math.max(highWatermark, this.latestEnds.get(partition) ?? 0));
    if (this.metrics) {
      if (upserts > 0) this.metrics.applied.inc({ topic: this.topic, operation: 'upsert' }, upserts);
      if (deletes > 0) this.metrics.applied.inc({ topic: this.topic, operation: 'delete' }, deletes);
      this.metrics.keys.set({ topic: this.topic }, this.store.size);
      this.metrics.lagRecords.set({ topic: this.topic, partition: String(partition) }, Math.max(0, highWatermark - nextOffset));
    }
    this.advance(partition, nextOffset);
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

  private advance(partition: number, nextOffset: number): void {
    if (nextOffset <= (this.positions.get(partition) ?? 0)) return;
    this.positions.set(partition, nextOffset);
    this.metrics?.position.set({ topic: this.topic, partition: String(partition) }, nextOffset);
    for (const waiter of this.waiters) waiter();
    this.checkReady();
  }

  private checkReady(): void {
    if (this.isReady || this.failure !== undefined || this.waitingReason !== undefined || this.closed) return;
    for (const [partition, end] of this.ends) if ((this.positions.get(partition) ?? 0) < end) return;
    const seconds = (performance.now() - this.replayStarted) / 1000;
    if (seconds * 1000 > this.deleteRetentionMs) {
      this.failure = `the replay took ${seconds.toFixed(1)} s, longer than delete.retention.ms=${String(this.deleteRetentionMs)}: tombstones may have been purged meanwhile and deleted keys may have come back`;
      this.log.error(this.failure);
      this.setNotReady();
      return;
    }
    this.isReady = true;
    this.metrics?.ready.set({ topic: this.topic }, 1);
    this.metrics?.replaySeconds.set({ topic: this.topic }, seconds);
    this.log.info({ seconds, keys: this.store.size, records: this.replayRecords }, 'view ready');
    this.readyResolve?.();
    this.emit('ready');
  }

  private setNotReady(): void {
    this.isReady = false;
    this.metrics?.ready.set({ topic: this.topic }, 0);
  }

  /** Detects a truncated, deleted or recreated topic (rebuilds) and refreshes lag. Never throws. */
  private async checkHealth(): Promise<void> {
    if (this.closed || this.checking) return;
    this.checking = true;
    try {
      if (this.pendingRebuild !== undefined) {
        await this.rebuild(this.pendingRebuild);
        return;
      }
      // Positions are read before asking: the answer may arrive after newer records were applied, and only a
      // position the broker had already passed when it answered proves a truncation.
      const asked = new Map(this.positions);
      let offsets: Array<{ partition: number; low: string; high: string }>;
      try {
        offsets = await withAdmin(this.kafka, (admin) => admin.fetchTopicOffsets(this.topic));
      } catch (error) {
        if (!/does not host this topic-partition|unknown topic/i.test((error as Error).message)) throw error;
        this.failure = `topic ${this.topic} does not exist (deleted?)`;
        this.setNotReady();
        return;
      }
      if (this.failure?.startsWith(`topic ${this.topic} does not exist`)) {
        // It was deleted and is back: whatever it holds now is another log.
        await this.rebuild('topic recreated: it disappeared and came back');
        return;
      }
      for (const { partition, low, high } of offsets) {
        const position = asked.get(partition) ?? 0;
        if (Number(high) < position) {
          await this.rebuild(`topic recreated or truncated: partition ${String(partition)} ends at ${high}, below the view position ${String(position)}`);
          return;
        }
        if (Number(low) > position && position < Number(high)) {
          await this.rebuild(`offset out of range: partition ${String(partition)} now starts at ${low}, records from ${String(position)} were removed before this view read them`);
          return;
        }
        this.latestEnds.set(partition, Math.max(Number(high), this.latestEnds.get(partition) ?? 0));
        this.metrics?.lagRecords.set({ topic: this.topic, partition: String(partition) }, Math.max(0, Number(high) - (this.positions.get(partition) ?? 0)));
      }
      const behind = offsets.some(({ partition, high }) => Number(high) > (this.positions.get(partition) ?? 0));
      this.metrics?.lagSeconds.set({ topic: this.topic }, behind && this.lastAppliedTimestamp > 0 ? Math.max(0, Date.now() - this.lastAppliedTimestamp) / 1000 : 0);
    } catch (error) {
      this.log.warn({ err: error }, 'health check failed; will retry');
    } finally {
      this.checking = false;
    }
  }

  /** Throws the state away and replays from the beginning. */
  async rebuild(reason: string): Promise<void> {
    if (this.pendingRebuild === undefined) {
      this.log.warn({ reason }, 'rebuilding the view');
      this.metrics?.rebuilds.inc({ topic: this.topic, reason: reason.split(':')[0] ?? reason });
      this.emit('rebuild', reason);
    }
    this.pendingRebuild = reason; // cleared only once the new replay has started
    this.setNotReady();
    this.failure = undefined;
    await this.stopConsumer();
    this.store = new SnapshotStore();
    this.poisoned.clear();
    await this.startReplay();
    this.pendingRebuild = undefined;
  }

  private async stopConsumer(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    this.generation++;
    if (!consumer) return;
    await consumer.disconnect();
    await withAdmin(this.kafka, (admin) => admin.deleteGroups([this.groupId])).catch((error: unknown) => {
      this.log.warn({ err: error, groupId: this.groupId }, 'could not delete the consumer group');
    });
  }

  // ---- reading ----

  private decodeBytes(bytes: Buffer): unknown {
    return this.schemas.decode(bytes.readUInt32BE(1), bytes);
  }

  private decodeEntry(entry: string): unknown {
    return this.decodeBytes(entryValueBytes(entry));
  }

  /** @internal Decodes a stored entry into an Item (used by snapshots). */
  toItem<T>(key: string, entry: string): Item<T> {
    return {
      key,
      value: this.decodeEntry(entry) as T,
      partition: entryPartition(entry),
      offset: entryOffset(entry),
      timestamp: entryTimestamp(entry),
      schemaId: entrySchemaId(entry),
    };
  }

  get<T = unknown>(key: string): Item<T> | undefined {
    const entry = this.store.get(key);
    return entry === undefined ? undefined : this.toItem<T>(key, entry);
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

  /** The view version: per partition, the next offset to apply. */
  get version(): VersionVector {
    return { topic: this.topic, positions: new Map(this.positions) };
  }

  get token(): string {
    return formatVersionToken(this.version);
  }

  /** Several keys read at one version (synchronously, so no batch can land in between). */
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
    return new ViewSnapshot(this, this.store, this.version);
  }

  /** Resolves once every partition named in the token has been applied up to it. */
  async waitFor(token: string, timeoutMs = 30_000): Promise<void> {
    const wanted = parseVersionToken(token);
    if (wanted.topic !== this.topic) throw new HotstateError('HOTSTATE_ERR_TOKEN_TOPIC', `version token is for topic ${wanted.topic}, this view holds ${this.topic}`);
    const covered = (): boolean => [...wanted.positions].every(([p, next]) => (this.positions.get(p) ?? 0) >= next);
    if (covered()) return;
    if (this.closed) throw new HotstateError('HOTSTATE_ERR_CLOSED', `view of ${this.topic} is closed`);
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!covered()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new HotstateError('HOTSTATE_ERR_WAIT_TIMEOUT', `view of ${this.topic} did not reach ${token} within ${String(timeoutMs)} ms (now at ${this.token})`, { retriable: true }));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** Calls `listener` for every change after its batch is visible, in offset order per partition. */
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
    return {
      ready: this.isReady,
      reason: this.failure ?? this.waitingReason ?? (this.pendingRebuild === undefined ? undefined : `rebuilding: ${this.pendingRebuild}`) ?? (this.isReady ? undefined : 'replaying'),
      failed: this.failure !== undefined,
      keys: this.store.size,
      version: this.token,
      progress: this.progress(),
      partitions: [...this.positions].sort(([a], [b]) => a - b).map(([partition, position]) => {
        const end = Math.max(this.latestEnds.get(partition) ?? 0, this.ends.get(partition) ?? 0, position);
        return { partition, position, end, lag: end - position };
      }),
    };
  }

  /** Stops tailing, deletes the consumer group, closes clients. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.healthTimer);
    await this.stopConsumer();
    await this.deadLetters?.disconnect();
    this.setNotReady();
  }
}

/** A consistent read of one view version; release() it when done. */
export class ViewSnapshot {
  readonly version: VersionVector;
  readonly token: string;
  private readonly view: HotstateView;
  private readonly store: SnapshotStore;
  private readonly positions: Positions;
  private released = false;

  constructor(view: HotstateView, store: SnapshotStore, version: VersionVector) {
    this.view = view;
    this.store = store;
    this.version = version;
    this.positions = version.positions;
    this.token = formatVersionToken(version);
    store.openSnapshot(this.positions);
  }

  private check(): void {
    if (this.released) throw new HotstateError('HOTSTATE_ERR_CLOSED', 'snapshot already released');
  }

  get<T = unknown>(key: string): Item<T> | undefined {
    this.check();
    const entry = this.store.getAt(key, this.positions);
    return entry === undefined ? undefined : this.view.toItem<T>(key, entry);
  }

  /** Every item of this version, in key insertion order; safe to await between items. */
  *items<T = unknown>(options: { prefix?: string } = {}): IterableIterator<Item<T>> {
    this.check();
    const prefix = options.prefix ?? '';
    for (const [key, entry] of this.store.entriesAt(this.positions)) {
      if (this.released) return;
      if (key.startsWith(prefix)) yield this.view.toItem<T>(key, entry);
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.store.closeSnapshot(this.positions);
  }
}

/** Creates a view and starts its replay (await `view.ready` for it to finish). */
export async function createView(options: ViewOptions): Promise<HotstateView> {
  const view = new HotstateView(options);
  await view.start();
  return view;
}
