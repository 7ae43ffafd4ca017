// View benchmark: replay throughput and time to ready for N keys of ~120-byte Avro records, heap bytes per key,
// and produce-to-visible latency while tailing at ~1k updates/s; raw kafkajs consumption of the same topic (only
// iterating the messages) is measured in the same run as the baseline.
//   npm run infra -- up && npm run bench:replay -- [keys=1000000]
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectionFromEnv } from '../../infra/settings.ts';
import { createKafka, withAdmin } from '../helpers/kafkajs-client.ts';
import { createProducer } from '../../services/lib/producer/producer.ts';
import { createView } from '../../services/lib/view/view.ts';
import { benchValue, benchValueBytes, ensureBenchTopic } from './bench-topic.ts';

const keys = Number(process.argv[2] ?? 1_000_000);
const { brokers, registryUrl } = connectionFromEnv();
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:replay does)');

const kafka = createKafka({ brokers, clientId: 'hotstate-bench' });
const { topic, producerOptions } = await ensureBenchTopic(keys);
const valueBytes = benchValueBytes;
const value = benchValue;
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
