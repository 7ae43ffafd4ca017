// Every hotstate metric is defined here, on a prom-client Registry the caller passes in (never the global one).
// Names: hotstate_<noun>_<unit>; counters end in _total. No label ever carries a key.
import { Counter, Histogram, type Registry } from 'prom-client';

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
    records: once(registry, 'hotstate_producer_records_total', () => new Counter({
      name: 'hotstate_producer_records_total', help: 'Records acknowledged by Kafka, by operation (upsert or delete).',
      labelNames: ['topic', 'operation'] as const, registers,
    })),
    errors: once(registry, 'hotstate_producer_errors_total', () => new Counter({
      name: 'hotstate_producer_errors_total', help: 'Rejected or failed writes, by hotstate error code.',
      labelNames: ['topic', 'code'] as const, registers,
    })),
    sendDuration: once(registry, 'hotstate_producer_send_duration_seconds', () => new Histogram({
      name: 'hotstate_producer_send_duration_seconds', help: 'Time from handing a batch to Kafka until it is acknowledged (acks=-1).',
      labelNames: ['topic'] as const, buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers,
    })),
    batchRecords: once(registry, 'hotstate_producer_batch_records', () => new Histogram({
      name: 'hotstate_producer_batch_records', help: 'Records per produce request.',
      labelNames: ['topic'] as const, buckets: [1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000], registers,
    })),
  };
}
