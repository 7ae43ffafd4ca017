// Every hotstate metric is defined here, on a prom-client Registry the caller passes in (never the global one).
// Names: hotstate_<noun>_<unit>; counters end in _total. No label ever carries a key.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Reuses a metric already registered under the name, so several producers can share one registry. */
function once<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

export interface ProducerMetrics {
  readonly records: Counter<'topic' | 'operation'>;
  readonly errors: Counter<'topic' | 'code'>;
  readonly sendDuration: Histogram<'topic'>;
  readonly batchRecords: Histogram<'topic'>;
}

export function producerMetrics(registry: Registry): ProducerMetrics {
  const registers = [registry];
  return {
    records: once(
      registry,
      'hotstate_producer_records_total',
      () =>
        new Counter({
          name: 'hotstate_producer_records_total',
          help: 'Records acknowledged by Kafka, by operation (upsert or delete).',
          labelNames: ['topic', 'operation'] as const,
          registers,
        }),
    ),
    errors: once(
      registry,
      'hotstate_producer_errors_total',
      () =>
        new Counter({
          name: 'hotstate_producer_errors_total',
          help: 'Rejected or failed writes, by hotstate error code.',
          labelNames: ['topic', 'code'] as const,
          registers,
        }),
    ),
    sendDuration: once(
      registry,
      'hotstate_producer_send_duration_seconds',
      () =>
        new Histogram({
          name: 'hotstate_producer_send_duration_seconds',
          help: 'Time from handing a batch to Kafka until it is acknowledged (acks=-1).',
          labelNames: ['topic'] as const,
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers,
        }),
    ),
    batchRecords: once(
      registry,
      'hotstate_producer_batch_records',
      () =>
        new Histogram({
          name: 'hotstate_producer_batch_records',
          help: 'Records per produce request.',
          labelNames: ['topic'] as const,
          buckets: [1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000],
          registers,
        }),
    ),
  };
}

export interface ViewMetrics {
  readonly lagRecords: Gauge<'topic' | 'partition'>;
  readonly lagSeconds: Gauge<'topic'>;
  readonly applied: Counter<'topic' | 'operation'>;
  readonly decodeErrors: Counter<'topic' | 'reason'>;
  readonly deadLetters: Counter<'topic'>;
  readonly keyPartitionConflicts: Counter<'topic'>;
  readonly keys: Gauge<'topic'>;
  readonly ready: Gauge<'topic'>;
  readonly replaySeconds: Gauge<'topic'>;
  readonly position: Gauge<'topic' | 'partition'>;
  readonly updateLatency: Histogram<'topic'>;
  readonly sourceLatency: Histogram<'topic'>;
  readonly transactions: Counter<'topic' | 'outcome'>;
  readonly transactionHeldRecords: Gauge<'topic'>;
  readonly recordsBySchema: Counter<'topic' | 'schema_id'>;
  readonly rebuilds: Counter<'topic' | 'reason'>;
  readonly stale: Gauge<'topic'>;
  readonly endOffsetCheckFailures: Counter<'topic'>;
  readonly snapshotRestores: Counter<'topic' | 'outcome'>;
  readonly snapshotAge: Gauge<'topic'>;
  readonly snapshotBytes: Gauge<'topic'>;
  readonly snapshotWriteSeconds: Histogram<'topic'>;
  readonly pinned: Gauge<'topic'>;
  readonly pinnedRecordsBehind: Gauge<'topic'>;
}

export function viewMetrics(registry: Registry): ViewMetrics {
  const registers = [registry];
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> =>
    once(registry, name, () => new Gauge({ name, help, labelNames, registers }));
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
    once(registry, name, () => new Counter({ name, help, labelNames, registers }));
  return {
    lagRecords: gauge('hotstate_view_lag_records', 'End offset minus the view position, per partition.', [
      'topic',
      'partition',
    ] as const),
    lagSeconds: gauge(
      'hotstate_view_lag_seconds',
      'How far behind the view is: while records wait or fetching fails, now minus the timestamp of the last applied record (or of the replay start), else 0. Updated every second.',
      ['topic'] as const,
    ),
    applied: counter(
      'hotstate_view_records_applied_total',
      'Records applied to the view, by operation (upsert, delete).',
      ['topic', 'operation'] as const,
    ),
    decodeErrors: counter('hotstate_view_decode_errors_total', 'Poison records, by reason.', [
      'topic',
      'reason',
    ] as const),
    deadLetters: counter('hotstate_view_dead_letters_total', 'Poison records written to the dead-letter topic.', [
      'topic',
    ] as const),
    keyPartitionConflicts: counter(
      'hotstate_view_key_partition_conflicts_total',
      'Records of a key that arrived in a partition other than the one holding it.',
      ['topic'] as const,
    ),
    keys: gauge('hotstate_view_keys', 'Keys held by the view.', ['topic'] as const),
    ready: gauge(
      'hotstate_view_ready',
      '1 when the view has replayed to the end offsets captured at start and has no unrecoverable problem.',
      ['topic'] as const,
    ),
    replaySeconds: gauge('hotstate_view_replay_duration_seconds', 'Time from start (or rebuild) to ready.', [
      'topic',
    ] as const),
    position: gauge('hotstate_view_position', 'Next offset the view will apply, per partition.', [
      'topic',
      'partition',
    ] as const),
    updateLatency: once(
      registry,
      'hotstate_view_update_latency_seconds',
      () =>
        new Histogram({
          name: 'hotstate_view_update_latency_seconds',
          help: 'Record timestamp to visible in the view (after ready).',
          labelNames: ['topic'] as const,
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers,
        }),
    ),
    sourceLatency: once(
      registry,
      'hotstate_view_source_latency_seconds',
      () =>
        new Histogram({
          name: 'hotstate_view_source_latency_seconds',
          help: 'Captured changes (Debezium): database commit (source ts_ms) to the record in Kafka (its timestamp), after ready.',
          labelNames: ['topic'] as const,
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers,
        }),
    ),
    transactions: counter(
      'hotstate_view_transactions_total',
      'Database transactions (Debezium transaction metadata) applied at once: complete, or torn (some changes never arrived).',
      ['topic', 'outcome'] as const,
    ),
    transactionHeldRecords: gauge(
      'hotstate_view_transaction_held_records',
      'Records read but held back until their database transaction is complete.',
      ['topic'] as const,
    ),
    recordsBySchema: counter('hotstate_view_records_by_schema_total', 'Records applied, by writer schema id.', [
      'topic',
      'schema_id',
    ] as const),
    rebuilds: counter('hotstate_view_rebuilds_total', 'Replays started again from scratch, by reason.', [
      'topic',
      'reason',
    ] as const),
    stale: gauge(
      'hotstate_view_stale',
      '1 while a replayed view is not advancing although records wait (or cannot fetch), else 0.',
      ['topic'] as const,
    ),
    endOffsetCheckFailures: counter(
      'hotstate_view_end_offset_check_failures_total',
      'Periodic end-offset checks that failed (lag figures then come from fetch answers only).',
      ['topic'] as const,
    ),
    snapshotRestores: counter(
      'hotstate_view_snapshot_restores_total',
      'Snapshot files considered at start, by outcome (used, too-old, corrupt, topic-changed, unknown-format, schemas-unavailable).',
      ['topic', 'outcome'] as const,
    ),
    snapshotAge: gauge(
      'hotstate_view_snapshot_age_seconds',
      'Age of the newest snapshot this view wrote or started from (updated every second).',
      ['topic'] as const,
    ),
    snapshotBytes: gauge('hotstate_view_snapshot_size_bytes', 'Size of the newest snapshot file this view wrote.', [
      'topic',
    ] as const),
    pinned: gauge(
      'hotstate_view_pinned',
      '1 while an operator pins what readers see to one version (applying goes on), else 0.',
      ['topic'] as const,
    ),
    pinnedRecordsBehind: gauge(
      'hotstate_view_pinned_records_behind',
      'Records applied since the pin that readers do not see yet (0 when not pinned; updated every second).',
      ['topic'] as const,
    ),
    snapshotWriteSeconds: once(
      registry,
      'hotstate_view_snapshot_write_duration_seconds',
      () =>
        new Histogram({
          name: 'hotstate_view_snapshot_write_duration_seconds',
          help: 'Time to write one snapshot file (in the background).',
          labelNames: ['topic'] as const,
          buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
          registers,
        }),
    ),
  };
}

export interface HttpMetrics {
  readonly requests: Counter<'service' | 'method' | 'route' | 'status'>;
  readonly duration: Histogram<'service' | 'method' | 'route'>;
}

/** HTTP metrics of the services; `route` is the route pattern (e.g. /v1/datasets/:dataset/keys/:key), never a key. */
export function httpMetrics(registry: Registry): HttpMetrics {
  const registers = [registry];
  return {
    requests: once(
      registry,
      'hotstate_http_requests_total',
      () =>
        new Counter({
          name: 'hotstate_http_requests_total',
          help: 'HTTP requests answered, by route pattern and status code.',
          labelNames: ['service', 'method', 'route', 'status'] as const,
          registers,
        }),
    ),
    duration: once(
      registry,
      'hotstate_http_request_duration_seconds',
      () =>
        new Histogram({
          name: 'hotstate_http_request_duration_seconds',
          help: 'Time to answer an HTTP request (a change-feed stream counts until it ends).',
          labelNames: ['service', 'method', 'route'] as const,
          buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers,
        }),
    ),
  };
}
