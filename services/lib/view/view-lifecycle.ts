// The view's lifecycle: replays a dataset topic from the beginning into memory, keeps tailing it, and versions the
// whole state by the per-partition position vector (the operator API on top of it is view.ts).
// It reads through the transport's partition reader (no consumer group). Each chunk is checked first (record-intake.ts;
// dead letters written), then applied in one go: readers never see half a chunk. State machine: view-state.ts.
import { parseAvroSchema } from '../codec/confluent-avro.ts';
import { HotstateError } from '../errors.ts';
import { createLogger, settleWithin, type Logger } from '../logger.ts';
import { viewMetrics, type ViewMetrics } from '../metrics.ts';
import { keySubject, valueSubject } from '../registry.ts';
import { createPlatformaticTransport } from '../transport/platformatic/platformatic-transport.ts';
import type { PartitionReader, ReadProblem, TopicLayout, Transport } from '../transport/transport.ts';
import { DeadLetterWriter } from './dead-letters.ts';
import { PoisonHandling } from './poison-handling.ts';
import { SchemaResolution } from './schema-resolution.ts';
import { recordLimits, type RecordLimits } from '../core/poison.ts';
import { ForeignRecords } from '../core/foreign-records.ts';
import { RecordIntake } from './record-intake.ts';
import { ViewData } from '../core/view-data.ts';
import { ViewReads } from './view-reads.ts';
import { judgeFreshness, trackWaiting } from '../core/freshness.ts';
import { judgeLayout, judgeOffsets, type TopicVerdict } from '../core/topic-health.ts';
import { ViewStateMachine, type FailureKind, type RebuildReason, type ViewState } from '../core/view-state.ts';
import { viewSettings, type ViewOptions, type ViewSettings } from './view-types.ts';
import { registrySchemaSource, WriterSchemas } from '../core/writer-schemas.ts';
import { ViewSnapshotFiles } from '../snapshot/view-snapshot-files.ts';
import { ViewTransactions } from './view-transactions.ts';
import { ChunkApplier } from './chunk-applier.ts';

const FRESHNESS_TICK_MS = 1000;
/** Bound on each step of close(). */
const CLOSE_STEP_MS = 2000;
const START_PATIENCE_MS = 30_000;

export abstract class ViewLifecycle extends ViewReads {
  readonly topic: string;
  /** Resolves when the view first becomes ready; rejects when it fails or closes before that. */
  readonly ready: Promise<void>;
  protected readonly options: ViewSettings;
  protected readonly transport: Transport;
  private readonly ownsTransport: boolean;
  protected readonly log: Logger;
  private readonly metrics: ViewMetrics | undefined;
  protected readonly schemas: WriterSchemas;
  private readonly limits: RecordLimits;
  protected readonly machine = new ViewStateMachine();
  protected readonly data: ViewData;
  /** End offsets captured when the replay started: ready once every position reaches them. */
  protected ends = new Map<number, number>();
  protected starts = new Map<number, number>();
  /** Latest end offset seen per partition (fetch answers and health checks). */
  protected readonly latestEnds = new Map<number, number>();
  /** Per partition, since when records wait (stale counts from then, not from an idle partition's last progress). */
  private readonly waitingSince = new Map<number, number>();
  private readonly unavailable = new Map<number, string>();
  protected layout: TopicLayout | undefined;
  private reader: PartitionReader | undefined;
  private generation = 0;
  private readonly poison: PoisonHandling;
  private readonly schemaResolution: SchemaResolution;
  private readonly applier: ChunkApplier;
  protected readonly transactions: ViewTransactions;
  private timers: NodeJS.Timeout[] = [];
  protected replayStarted = 0;
  /** When the version the replay started from was taken: the replay start, or a restored snapshot's creation. */
  private replayBasedAt = 0;
  protected readonly snapshots: ViewSnapshotFiles;
  private deleteRetentionMs = Number.POSITIVE_INFINITY;
  private checking = false;
  private settleReady: { resolve: () => void; reject: (error: Error) => void } | undefined;
  /** Set when Kafka or the registry refused this view's credentials or ACLs. */
  private refusal: HotstateError | undefined;

  constructor(options: ViewOptions) {
    super();
    this.options = viewSettings(options);
    this.topic = options.topic;
    this.ownsTransport = options.transport === undefined;
    this.transport = options.transport ?? createPlatformaticTransport({ clientId: 'hotstate-view', ...options.kafka });
    this.log = (options.logger ?? createLogger()).child({ component: 'view', topic: options.topic });
    this.metrics = options.metrics ? viewMetrics(options.metrics) : undefined;
    const schemaSource = options.schemaSource ?? registrySchemaSource(options.registryUrl);
    this.schemas = new WriterSchemas(
      schemaSource,
      valueSubject(options.topic),
      options.readerSchema === undefined ? undefined : parseAvroSchema(options.readerSchema),
    );
    this.limits = recordLimits(this.options);
    this.data = new ViewData(options.topic, this.schemas, this.metrics, this.log);
    this.schemaResolution = new SchemaResolution(this.schemas, this.machine, this.log);
    const foreign = new ForeignRecords(options.topic, new WriterSchemas(schemaSource, keySubject(options.topic)));
    this.poison = new PoisonHandling(options.topic, this.options.poisonPolicy, this.metrics, this.log, (poison) => {
      this.emit('poison', poison);
    });
    this.snapshots = new ViewSnapshotFiles(options.topic, this.metrics, this.log);
    const transactions = (this.transactions = new ViewTransactions(options.transactions ?? {}, {
      topic: options.topic,
      transport: this.transport,
      schemaSource,
      resolution: this.schemaResolution,
      log: this.log,
      metrics: this.metrics,
      fail: (reason) => {
        this.fail('transaction-topic', reason);
      },
      endsRead: () => {
        void this.applier.applyReleased();
      },
    }));
    this.applier = new ChunkApplier({
      topic: options.topic,
      intake: new RecordIntake(this.schemas, foreign, this.schemaResolution, this.limits, this.metrics),
      poison: this.poison,
      transactions,
      data: this.data,
      machine: this.machine,
      metrics: this.metrics,
      log: this.log,
      latestEnds: this.latestEnds,
      partitions: () => this.layout?.partitions.map((p) => p.partition) ?? [],
      replayBasedAt: () => this.replayBasedAt,
      fail: (kind, reason) => {
        this.fail(kind, reason);
      },
      refused: (error) => {
        this.refusal = error;
        this.fail('access-refused', `${error.code}: ${error.message}`);
      },
      progressed: () => {
        this.checkReady();
        if (this.machine.name === 'stale') this.checkFreshness();
      },
    });
    this.ready = new Promise((resolve, reject) => {
      this.settleReady = { resolve, reject };
    });
    this.ready.catch(() => undefined); // callers who never await `ready` must not see an unhandled rejection
    this.machine.onTransition((state, previous) => {
      this.onTransition(state, previous);
    });
  }

  /** Starts the replay; resolves once fetching has begun (await `ready` for the replay to finish). */
  async start(): Promise<void> {
    const snapshotDir = this.options.snapshot?.dir;
    // The newest snapshot is read and indexed on another thread, and its writer schemas fetched, while this one asks
    // Kafka about the topic; the restore then judges it and asks again for whatever is still missing.
    if (snapshotDir !== undefined) this.snapshots.preload(snapshotDir, this.schemas);
    try {
      // The registry is checked beside the first Kafka request: a misaddressed one fails the start here, before any
      // record could be taken for poison; one that does not answer yet is waited for when records need it.
      const [configs] = await Promise.all([
        this.transport.topicConfigs(this.topic),
        this.schemaResolution.probeAtStart(),
      ]);
      this.deleteRetentionMs = Number(configs['delete.retention.ms'] ?? Number.POSITIVE_INFINITY);
      if (this.options.poisonPolicy === 'dead-letter') {
        this.poison.useDeadLetters(
          await DeadLetterWriter.open(
            this.transport,
            this.topic,
            this.options.deadLetterTopic ?? `${this.topic}.hotstate-dlq`,
            this.options.createDeadLetterTopic,
          ),
        );
      }
      await this.startReplay({ fromSnapshot: true });
    } finally {
      if (snapshotDir !== undefined) this.snapshots.endPreload(snapshotDir); // not taken: the snapshot was not used
    }
    if (this.machine.name === 'closed') return; // closed while starting: no timers to outlive it
    this.timers = [
      setInterval(() => {
        void this.checkHealth();
      }, this.options.healthCheckIntervalMs),
      setInterval(() => {
        void this.applier.applyReleased(); // what waited out its settle time
        this.checkFreshness();
        this.snapshots.tick();
        this.updatePinMetrics();
      }, FRESHNESS_TICK_MS),
    ];
    for (const timer of this.timers) timer.unref();
  }

  private async startReplay({ fromSnapshot = false } = {}): Promise<void> {
    const generation = ++this.generation;
    const layout = await this.transport.layout(this.topic);
    if (!layout) throw new HotstateError('HOTSTATE_ERR_RESOURCE_NOT_FOUND', `topic ${this.topic} does not exist`);
    // A start right after a broker died waits out the leader election (typically seconds) instead of failing.
    const offsets = await this.transport.offsets(this.topic, { patienceMs: START_PATIENCE_MS });
    this.layout = layout;
    this.data.topicId = layout.topicId;
    this.ends = new Map(offsets.map((p) => [p.partition, p.end]));
    this.starts = new Map(offsets.map((p) => [p.partition, p.start]));
    let positions = new Map(offsets.map((p) => [p.partition, p.start]));
    this.data.reset(positions, this.deleteRetentionMs);
    this.replayBasedAt = Date.now();
    const dir = this.options.snapshot?.dir;
    if (fromSnapshot && dir !== undefined) {
      const topicNow = {
        topic: this.topic,
        topicId: layout.topicId,
        offsets,
        deleteRetentionMs: this.deleteRetentionMs,
      };
      const restored = await this.snapshots.restore(dir, topicNow, {
        prepare: (ids) => this.schemas.settle(ids),
        reset: (at) => {
          this.data.reset(at, this.deleteRetentionMs);
        },
        loadBase: (base) => {
          this.data.loadBase(base);
        },
      });
      if (restored) {
        positions = restored.positions;
        this.starts = new Map(positions);
        this.replayBasedAt = restored.createdAt;
      }
    }
    // Closed (or rebuilt again) while the offsets or a snapshot were read: start nothing.
    if (generation !== this.generation || this.machine.name === 'closed') return;
    for (const { partition, end } of offsets) this.latestEnds.set(partition, end);
    this.data.startReplayWindow(this.ends);
    this.data.reserve(
      offsets.reduce((n, { partition, end }) => n + Math.max(0, end - (positions.get(partition) ?? end)), 0),
    );
    this.replayStarted = performance.now();
    this.reader = this.transport.read(layout, positions, {
      chunk: (chunk) => (generation === this.generation ? this.applier.onChunk(chunk) : undefined),
      problem: (problem) => {
        if (generation === this.generation) this.onReadProblem(problem);
      },
      recovered: (partitions) => {
        if (generation !== this.generation) return;
        for (const p of partitions) this.unavailable.delete(p);
        this.checkFreshness();
      },
    });
    this.checkReady();
  }

  // ---- state ----

  private onTransition(state: ViewState, previous: ViewState): void {
    this.metrics?.ready.set({ topic: this.topic }, this.machine.caughtUp ? 1 : 0);
    this.metrics?.stale.set({ topic: this.topic }, state.name === 'stale' ? 1 : 0);
    if (state.name === 'failed') {
      this.log.error({ failure: state.failure }, state.reason ?? 'view failed');
      // A refused credential or ACL keeps its own code: the caller learns what to fix, not only that it failed.
      this.settleReady?.reject(
        this.refusal ??
          new HotstateError('HOTSTATE_ERR_VIEW_NOT_READY', `view of ${this.topic} failed: ${state.reason ?? ''}`),
      );
    }
    if (state.name === 'closed') {
      const closed = new HotstateError('HOTSTATE_ERR_LIFECYCLE_CLOSED', `view of ${this.topic} is closed`);
      this.settleReady?.reject(closed);
      this.data.close(closed);
    }
    if (state.name === 'stale') this.log.warn({ reason: state.reason }, 'view is stale');
    if (previous.name === 'stale' && state.name === 'ready')
      this.log.info({ staleSeconds: (state.since - previous.since) / 1000 }, 'view is fresh again');
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
    for (const [partition, end] of this.ends) if (this.data.position(partition) < end) return;
    const seconds = (performance.now() - this.replayStarted) / 1000;
    // From a snapshot, what counts is the time since its version was taken, not only the fetching after it.
    if (Date.now() - this.replayBasedAt > this.deleteRetentionMs) {
      this.fail(
        'replay-slower-than-delete-retention',
        `the replay took ${seconds.toFixed(1)} s (from a version ${((Date.now() - this.replayBasedAt) / 1000).toFixed(1)} s old), longer than delete.retention.ms=${String(this.deleteRetentionMs)}: tombstones may have been purged meanwhile and deleted keys may have come back`,
      );
      return;
    }
    this.machine.to('ready');
    this.metrics?.replaySeconds.set({ topic: this.topic }, seconds);
    this.log.info({ seconds, keys: this.data.size, records: this.data.appliedRecords }, 'view ready');
    this.settleReady?.resolve();
    this.emit('ready');
  }

  private onReadProblem(problem: ReadProblem): void {
    if (problem.kind === 'out-of-range') {
      void this.rebuild(
        'offset-out-of-range',
        `partition ${String(problem.partition)} no longer holds offset ${String(problem.position)}`,
      );
    } else if (problem.kind === 'topic-gone') {
      void this.checkHealth();
    } else if (problem.kind === 'refused') {
      this.refusal = problem.error;
      this.fail('access-refused', `${problem.error.code}: ${problem.error.message}`);
    } else {
      for (const p of problem.partitions) this.unavailable.set(p, problem.detail);
      this.log.warn({ partitions: problem.partitions }, problem.detail);
      this.checkFreshness();
    }
  }

  /** Lag in seconds and the stale state, from what the view knows now: no network call, so it never fails. */
  private checkFreshness(): void {
    const now = Date.now();
    const positions = this.data.positionEntries();
    trackWaiting(this.waitingSince, positions, this.latestEnds, now);
    const { lagSeconds, staleReason } = judgeFreshness({
      now,
      positions,
      latestEnds: this.latestEnds,
      progressedAt: (p) => this.data.progressedAt(p),
      waitingSince: this.waitingSince,
      unavailable: this.unavailable,
      staleAfterMs: this.options.staleAfterMs,
      lastAppliedTimestamp: this.data.lastAppliedTimestamp,
      fallbackSince: now - (performance.now() - this.replayStarted),
    });
    this.metrics?.lagSeconds.set({ topic: this.topic }, lagSeconds);
    if (this.machine.name === 'ready' && staleReason !== undefined) this.machine.to('stale', { reason: staleReason });
    else if (this.machine.name === 'stale' && staleReason === undefined) this.machine.to('ready');
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
      const asked = new Map(this.data.positionEntries());
      const layout = await this.transport.layout(this.topic);
      if (
        await this.actOn(
          judgeLayout(this.topic, layout, this.layout?.topicId, this.machine.state.failure === 'topic-missing'),
        )
      )
        return;
      const offsets = await this.transport.offsets(this.topic);
      if (await this.actOn(judgeOffsets(asked, offsets))) return;
      for (const { partition, end } of offsets) {
        this.latestEnds.set(partition, Math.max(end, this.latestEnds.get(partition) ?? 0));
        this.metrics?.lagRecords.set(
          { topic: this.topic, partition: String(partition) },
          Math.max(0, end - this.data.position(partition)),
        );
      }
      this.checkFreshness();
    } catch (error) {
      this.metrics?.endOffsetCheckFailures.inc({ topic: this.topic });
      this.log.warn({ err: error }, 'end-offset check failed; lag comes from fetch answers until it works again');
    } finally {
      this.checking = false;
    }
  }

  /** Fails or rebuilds as the verdict says; true when it did either. */
  private async actOn(verdict: TopicVerdict): Promise<boolean> {
    if (verdict.action === 'none') return false;
    if (verdict.action === 'fail-missing') this.fail('topic-missing', verdict.detail);
    else await this.rebuild(verdict.reason, verdict.detail);
    return true;
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
    await Promise.all([reader?.stop(), this.applier.stopTransactions()]);
    this.data.reset(new Map());
    this.unavailable.clear();
    this.latestEnds.clear();
    this.waitingSince.clear();
    try {
      await this.startReplay();
      this.machine.to('replaying', { reason: 'replaying' });
      this.checkReady();
    } catch (error) {
      this.log.warn({ err: error }, 'rebuild could not start; the health check retries it');
    }
  }

  /** Stops tailing and closes clients; pending `ready` and `waitFor` calls reject. */
  async close(): Promise<void> {
    if (this.machine.name === 'closed') return;
    this.machine.to('closed', { reason: 'closed' });
    for (const timer of this.timers) clearInterval(timer);
    this.generation++;
    const reader = this.reader;
    this.reader = undefined;
    // Closing Kafka clients must not hold up a service's shutdown: each step gets a bound, and failures are logged.
    await settleWithin(
      this.log,
      'stopping the readers',
      Promise.all([reader?.stop(), this.applier.stopTransactions()]).then(() => undefined),
      CLOSE_STEP_MS,
    );
    await settleWithin(this.log, 'closing the dead-letter producer', this.poison.close(), CLOSE_STEP_MS);
    if (this.ownsTransport)
      await settleWithin(this.log, 'closing the Kafka clients', this.transport.close(), CLOSE_STEP_MS);
  }

  protected updatePinMetrics(): void {
    const pin = this.data.pinStatus();
    this.metrics?.pinned.set({ topic: this.topic }, pin ? 1 : 0);
    this.metrics?.pinnedRecordsBehind.set({ topic: this.topic }, pin?.recordsBehind ?? 0);
  }
}
