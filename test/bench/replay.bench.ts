// View benchmark: replay throughput and time to ready for N keys of ~120-byte Avro records, heap bytes per key,
// and produce-to-visible latency while tailing at ~1k updates/s; raw kafkajs consumption of the same topic (only
// iterating the messages) is measured in the same run as the baseline.
//   npm run infra -- up && npm run bench:replay -- [keys=1000000]
import { withTransport } from '../../services/lib/transport/platformatic-transport.ts';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectionFromEnv } from '../../infra/settings.ts';
import { encodeFramed, parseAvroSchema } from '../../services/lib/codec/confluent-avro.ts';
import { createKafka, withAdmin } from '../helpers/kafkajs-client.ts';
import { ensureDatasetTopic } from '../../services/lib/kafka/topics.ts';
import { createProducer } from '../../services/lib/producer/producer.ts';
import { createView } from '../../services/lib/view/view.ts';

const keys = Number(process.argv[2] ?? 1_000_000);
const { brokers, registryUrl } = connectionFromEnv();
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:replay does)');

const schema = {
  type: 'record', name: 'BenchItem', namespace: 'hotstate.bench',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'label', type: 'string' },
    { name: 'amount', type: 'double' },
    { name: 'version', type: 'long' },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['ACTIVE', 'SUSPENDED'] } },
  ],
};
const value = (i: number, version = 1) => ({ id: `item-${String(i).padStart(8, '0')}`, label: `Benchmark item ${String(i)} with a label long enough to make the whole Avro record about 120 bytes`, amount: i / 3, version, status: 'ACTIVE' });

const kafka = createKafka({ brokers, clientId: 'hotstate-bench' });
const valueBytes = encodeFramed(parseAvroSchema(schema), 1, value(0)).length;
const topic = `bench-replay-${String(keys)}-${String(valueBytes)}b`; // same name for the same data: repeated runs skip the load
const producerOptions = { kafka: { brokers, clientId: 'hotstate-bench' }, registryUrl, topic, schema, registerSchema: true };

await withTransport({ brokers }, (transport) => ensureDatasetTopic(transport, { topic, partitions: 3 }));
const loaded = (await withAdmin(kafka, (admin) => admin.fetchTopicOffsets(topic))).reduce((n, p) => n + Number(p.high), 0);
if (loaded < keys) {
  const producer = await createProducer(producerOptions);
  const began = performance.now();
  for (let i = loaded; i < keys; i += 5000) await producer.send(Array.from({ length: Math.min(5000, keys - i) }, (_, j) => ({ key: `k${String(i + j)}`, value: value(i + j) })));
  await producer.close();
  console.log(`loaded ${String(keys - loaded)} records in ${((performance.now() - began) / 1000).toFixed(1)} s`);
}
const ends = await withAdmin(kafka, (admin) => admin.fetchTopicOffsets(topic));
const total = ends.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);

async function rawKafkajs(): Promise<number> {
  const groupId = `bench-raw-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50, maxBytes: 64 * 1024 * 1024, maxBytesPerPartition: 16 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const remaining = new Map(ends.map((p) => [p.partition, Number(p.high)]));
  let seen = 0;
  const began = performance.now();
  await new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        for (const message of batch.messages) if (message.offset) seen++;
        if (Number(batch.lastOffset()) + 1 >= (remaining.get(batch.partition) ?? 0)) remaining.delete(batch.partition);
        if (remaining.size === 0) resolve();
        return Promise.resolve();
      },
    });
  });
  const seconds = (performance.now() - began) / 1000;
  await consumer.disconnect();
  await withAdmin(kafka, (admin) => admin.deleteGroups([groupId]));
  return seen / seconds;
}

const raw = await rawKafkajs();
gc();
const heapBefore = process.memoryUsage().heapUsed;
const began = performance.now();
const view = await createView({ kafka: { brokers }, registryUrl, topic });
await view.ready;
const readySeconds = (performance.now() - began) / 1000;
const rate = total / readySeconds;
const heldKeys = view.size;

// Tailing latency: ~1000 updates/s for 10 s, each measured from its record timestamp to visible.
const latencies: number[] = [];
view.onChange((change) => { latencies.push(Date.now() - change.timestamp); });
view.on('rebuild', (reason: string) => { console.log(`REBUILD during the benchmark: ${reason}`); });
const producer = await createProducer(producerOptions);
const sendBegan = Date.now();
for (let i = 0; i < 10_000; i++) {
  const due = sendBegan + i;
  if (due > Date.now()) await sleep(due - Date.now());
  void producer.upsert(`k${String(i)}`, value(i, 2));
}
await sleep(1000);
await producer.close();
const sorted = latencies.sort((a, b) => a - b);
const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
await view.close(); // the closed view still holds its store: what remains on the heap is the data, not fetch buffers
gc();
gc();
const bytesPerKey = (process.memoryUsage().heapUsed - heapBefore) / heldKeys;

console.log(`topic ${topic}: ${String(total)} records, ${String(view.size)} keys, 3 partitions, value ${String(valueBytes)} bytes (Confluent-framed Avro)`);
console.log(`raw kafkajs (iterate only): ${raw.toFixed(0)} records/s`);
console.log(`hotstate view replay: ${rate.toFixed(0)} records/s (${(rate / raw).toFixed(2)} of raw; targets >= 200000 and >= 0.80), ready in ${readySeconds.toFixed(2)} s (target <= 10 s)`);
console.log(`heap per key held: ${bytesPerKey.toFixed(0)} bytes (target <= 250; heap growth of a view holding ${String(heldKeys)} keys, after GC)`);
console.log(`produce-to-visible while tailing ~1k/s: p50 ${String(pct(50))} ms, p99 ${String(pct(99))} ms, max ${String(pct(100))} ms over ${String(sorted.length)} updates (targets p50 <= 5, p99 <= 25)`);
