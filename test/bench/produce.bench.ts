// Producer throughput: N records of about 200 bytes through the hotstate producer (validation, Avro encoding,
// idempotent acks=-1) against raw kafkajs sending the same pre-encoded bytes with the same settings, in one run.
//   npm run infra -- up && npm run bench:produce -- [records=200000] [batch=2000]
import { withTransport } from '../../services/lib/transport/platformatic/platformatic-transport.ts';
import { randomUUID } from 'node:crypto';
import { connectionFromEnv } from '../../infra/settings.ts';
import { parseAvroSchema, encodeFramed } from '../../services/lib/codec/confluent-avro.ts';
import { createKafka, createSafeProducer, withAdmin } from '../helpers/kafkajs-client.ts';
import { ensureDatasetTopic } from '../../services/lib/kafka/topics.ts';
import { createProducer } from '../../services/lib/producer/producer.ts';
import { registerValueSchema } from '../../services/lib/registry.ts';

const records = Number(process.argv[2] ?? 200_000);
const batch = Number(process.argv[3] ?? 2000);
const { brokers, registryUrl } = connectionFromEnv();

const schema = {
  type: 'record',
  name: 'BenchQuote',
  namespace: 'hotstate.bench',
  fields: [
    { name: 'instrument', type: 'string' },
    { name: 'description', type: 'string' },
    { name: 'bid', type: 'double' },
    { name: 'ask', type: 'double' },
    { name: 'currency', type: { type: 'enum', name: 'Ccy', symbols: ['EUR', 'USD', 'GBP'] } },
    { name: 'updatedAt', type: 'long' },
    { name: 'venue', type: ['null', 'string'], default: null },
    { name: 'tags', type: { type: 'map', values: 'string' } },
  ],
};
const value = (i: number) => ({
  instrument: `INSTR-${String(i).padStart(8, '0')}`,
  description: `Synthetic instrument number ${String(i)} used to measure producer throughput of the hotstate library`,
  bid: 100 + (i % 1000) / 7,
  ask: 100.5 + (i % 1000) / 7,
  currency: 'EUR',
  updatedAt: 1_795_000_000_000 + i,
  venue: 'XPAR',
  tags: { desk: 'rates', book: `book-${String(i % 50)}`, region: 'emea', trader: `trader-${String(i % 20)}` },
});

const kafka = createKafka({ brokers, clientId: 'hotstate-bench' });
async function freshTopic(): Promise<string> {
  const topic = `bench-produce-${randomUUID()}`;
  await withTransport({ brokers }, (transport) => ensureDatasetTopic(transport, { topic, partitions: 3 }));
  return topic;
}

async function rawKafkajs(): Promise<number> {
  const topic = await freshTopic();
  const schemaId = await registerValueSchema(registryUrl, topic, schema);
  const type = parseAvroSchema(schema);
  const encoded = Array.from({ length: records }, (_, i) => ({
    key: `key-${String(i)}`,
    value: encodeFramed(type, schemaId, value(i)),
  }));
  const producer = createSafeProducer(kafka);
  await producer.connect();
  const began = performance.now();
  for (let i = 0; i < records; i += batch)
    await producer.send({ topic, acks: -1, messages: encoded.slice(i, i + batch) });
  const seconds = (performance.now() - began) / 1000;
  await producer.disconnect();
  await withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [topic] }));
  return records / seconds;
}

async function library(mode: 'batch' | 'concurrent'): Promise<number> {
  const topic = await freshTopic();
  const producer = await createProducer({
    kafka: { brokers, clientId: 'hotstate-bench' },
    registryUrl,
    topic,
    schema,
    registerSchema: true,
    maxBatchRecords: batch,
  });
  // Inputs are built before timing, as the raw side's keys and bytes are.
  const updates = Array.from({ length: records }, (_, i) => ({ key: `key-${String(i)}`, value: value(i) }));
  const began = performance.now();
  for (let i = 0; i < records; i += batch) {
    const slice = updates.slice(i, i + batch);
    if (mode === 'batch') await producer.send(slice);
    else await Promise.all(slice.map((u) => producer.upsert(u.key, u.value)));
  }
  const seconds = (performance.now() - began) / 1000;
  await producer.close();
  await withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [topic] }));
  return records / seconds;
}

const type = parseAvroSchema(schema);
console.log(
  `records ${String(records)}, batch ${String(batch)}, value size ${String(encodeFramed(type, 1, value(0)).length)} bytes, 3 partitions, idempotent, acks=-1`,
);
const rounds: Array<{ raw: number; batch: number; concurrent: number }> = [];
await rawKafkajs(); // warm-up round (JIT, connections), not counted
await library('batch');
for (let round = 1; round <= 5; round++) {
  const raw = await rawKafkajs();
  const lib = await library('batch');
  const concurrent = await library('concurrent');
  rounds.push({ raw, batch: lib, concurrent });
  console.log(
    `round ${String(round)}: raw kafkajs ${raw.toFixed(0)} rec/s | hotstate send(batch) ${lib.toFixed(0)} rec/s (${(lib / raw).toFixed(2)}) | hotstate concurrent upserts ${concurrent.toFixed(0)} rec/s (${(concurrent / raw).toFixed(2)})`,
  );
}
// Rates on a shared 2-core machine swing between rounds, so the verdict is the median of the per-round ratios.
const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const ratio = median(rounds.map((r) => r.batch / r.raw));
console.log(
  `median: raw ${median(rounds.map((r) => r.raw)).toFixed(0)} rec/s, hotstate ${median(rounds.map((r) => r.batch)).toFixed(0)} rec/s, ` +
    `median per-round ratio ${ratio.toFixed(2)} (target >= 0.80: ${ratio >= 0.8 ? 'met' : 'NOT met'}); concurrent upserts ${median(rounds.map((r) => r.concurrent)).toFixed(0)} rec/s ` +
    `(${median(rounds.map((r) => r.concurrent / r.raw)).toFixed(2)})`,
);
