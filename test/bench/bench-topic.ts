// The benchmarks' data set: N keys of ~120-byte Confluent-framed Avro records in a 3-partition compacted topic,
// named after its size so that repeated runs (and the other benchmarks) reuse it instead of loading it again.
import { connectionFromEnv } from '../../infra/settings.ts';
import { encodeFramed, parseAvroSchema } from '../../services/lib/codec/confluent-avro.ts';
import { ensureDatasetTopic } from '../../services/lib/kafka/topics.ts';
import { createProducer, type ProducerOptions } from '../../services/lib/producer/producer.ts';
import { withTransport } from '../../services/lib/transport/platformatic/platformatic-transport.ts';
import { readRange } from '../../services/lib/transport/read-range.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { kafkaSecurity, registryTarget, securitySchema } from '../../services/lib/settings/security-settings.ts';
import type { RegistryTarget } from '../../services/lib/registry.ts';
import type { KafkaConnection } from '../../services/lib/transport/transport.ts';

/** Where the benchmarks connect: KAFKA_BROKERS, SCHEMA_REGISTRY_URL and the security settings the services read. */
export function benchConnection(env: NodeJS.ProcessEnv = process.env): {
  brokers: string[];
  kafka: KafkaConnection;
  registryUrl: RegistryTarget;
} {
  const { brokers, registryUrl } = connectionFromEnv(env);
  const security = securitySchema.parse(env);
  return {
    brokers,
    kafka: { brokers, clientId: 'hotstate-bench', ...kafkaSecurity(security) },
    registryUrl: registryTarget(registryUrl, security),
  };
}

export const benchSchema = {
  type: 'record',
  name: 'BenchItem',
  namespace: 'hotstate.bench',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'label', type: 'string' },
    { name: 'amount', type: 'double' },
    { name: 'version', type: 'long' },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['ACTIVE', 'SUSPENDED'] } },
  ],
};

export const benchValue = (i: number, version = 1): Record<string, unknown> => ({
  id: `item-${String(i).padStart(8, '0')}`,
  label: `Benchmark item ${String(i)} with a label long enough to make the whole Avro record about 120 bytes`,
  amount: i / 3,
  version,
  status: 'ACTIVE',
});

export const benchValueBytes = encodeFramed(parseAvroSchema(benchSchema), 1, benchValue(0)).length;

export interface BenchTopic {
  readonly topic: string;
  readonly records: number;
  readonly producerOptions: ProducerOptions;
}

export interface BenchMix {
  /** Records that overwrite an earlier key, as a share of `keys` (written after the keys, not yet compacted). */
  readonly overwrites?: number;
  /** Tombstones of earlier keys, as a share of `keys`. */
  readonly deletes?: number;
  /** Compacted: small segments the cleaner compacts at once; the load waits until it has. */
  readonly compacted?: boolean;
}

/** Segments of a compacted bench topic: only the active one (per partition) stays uncompacted. */
const compactedSegmentBytes = 1024 * 1024;

/** The topic of `keys` records (plus the mix's overwrites and tombstones), loaded if it holds fewer. */
export async function ensureBenchTopic(
  keys: number,
  mix: BenchMix = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<BenchTopic> {
  const { kafka, registryUrl } = benchConnection(env);
  const overwrites = Math.round(keys * (mix.overwrites ?? 0));
  const deletes = Math.round(keys * (mix.deletes ?? 0));
  const mixName = `${overwrites + deletes > 0 ? `-o${String(overwrites)}-d${String(deletes)}` : ''}${mix.compacted === true ? '-compacted' : ''}`;
  const topic = `bench-replay-${String(keys)}${mixName}-${String(benchValueBytes)}b`;
  const producerOptions: ProducerOptions = { kafka, registryUrl, topic, schema: benchSchema, registerSchema: true };
  const offsets = await withTransport(kafka, async (transport) => {
    const compaction = {
      'segment.bytes': String(compactedSegmentBytes),
      'min.cleanable.dirty.ratio': '0.01',
      'min.compaction.lag.ms': '0',
    };
    await ensureDatasetTopic(transport, {
      topic,
      partitions: 3,
      ...(mix.compacted === true ? { configs: compaction } : {}),
    });
    return transport.offsets(topic);
  });
  const loaded = offsets.reduce((n, p) => n + p.end, 0);
  // Record i of the load: the keys in order, then overwrites of every 11th key, then tombstones of every 97th.
  const total = keys + overwrites + deletes;
  const update = (i: number): { key: string; value: Record<string, unknown> | null } => {
    if (i < keys) return { key: `k${String(i)}`, value: benchValue(i) };
    if (i < keys + overwrites) {
      const k = ((i - keys) * 11) % keys;
      return { key: `k${String(k)}`, value: benchValue(k, 2) };
    }
    return { key: `k${String(((i - keys - overwrites) * 97 + 5) % keys)}`, value: null };
  };
  if (loaded < total) {
    const producer = await createProducer(producerOptions);
    const began = performance.now();
    for (let i = loaded; i < total; i += 5000)
      await producer.send(Array.from({ length: Math.min(5000, total - i) }, (_, j) => update(i + j)));
    await producer.close();
    console.log(`loaded ${String(total - loaded)} records in ${((performance.now() - began) / 1000).toFixed(1)} s`);
  }
  if (mix.compacted !== true) return { topic, records: Math.max(loaded, total), producerOptions };
  // Compacted once it holds about one record per key (tombstones stay for delete.retention.ms) plus what the active
  // segments hold.
  const target = keys + deletes + 3 * Math.ceil(compactedSegmentBytes / benchValueBytes);
  const began = performance.now();
  let held = await recordsHeld(kafka, topic);
  while (held > target && performance.now() - began < 300_000) {
    await sleep(5000);
    held = await recordsHeld(kafka, topic);
  }
  console.log(
    `compacted to ${String(held)} records (of ${String(Math.max(loaded, total))} written; done below ${String(target)}) after ${((performance.now() - began) / 1000).toFixed(0)} s of waiting`,
  );
  return { topic, records: held, producerOptions };
}

/** Records the topic holds now, read through to its end. */
async function recordsHeld(kafka: KafkaConnection, topic: string): Promise<number> {
  let held = 0;
  await withTransport(kafka, (transport) =>
    readRange(transport, topic, (chunk, end) => {
      held += chunk.records.filter((r) => r.offset < end).length;
    }),
  );
  return held;
}
