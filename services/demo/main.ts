// Demo: emit a few price updates (and one delete) to a compacted topic, then replay the topic from the beginning
// into an in-memory map and print it with each key's version (partition/offset). Run with `npm run demo`.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { endpoints, loadInfraSettings, projectRoot } from '../../infra/settings.ts';
import { createKafka, createSafeProducer, createTailingConsumer, withAdmin } from '../lib/kafka/client.ts';
import { ensureDatasetTopic } from '../lib/kafka/topics.ts';
import { createSchemaRegistry, registerValueSchema } from '../lib/registry.ts';

const topic = 'demo.instrument-prices';
const local = endpoints(loadInfraSettings());
const brokers = (process.env.KAFKA_BROKERS ?? local.kafkaBrokers.join(',')).split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? local.schemaRegistryUrl;

interface Price {
  instrument: string;
  price: number;
  currency: string;
  updatedAt: number;
}

const price = (instrument: string, value: number, currency: string): Price => ({ instrument, price: value, currency, updatedAt: Date.now() });
const updates: Array<[string, Price | null]> = [
  ['ACME', price('ACME', 101.25, 'EUR')],
  ['GLOBEX', price('GLOBEX', 55.1, 'USD')],
  ['INITECH', price('INITECH', 12, 'GBP')],
  ['ACME', price('ACME', 101.4, 'EUR')],
  ['UMBRELLA', price('UMBRELLA', 7.5, 'CHF')],
  ['INITECH', null], // tombstone: INITECH is deleted
];

const kafka = createKafka({ brokers, clientId: 'hotstate-demo' });
const registry = createSchemaRegistry(registryUrl);

await ensureDatasetTopic(kafka, { topic, partitions: 3 });
const schemaId = await registerValueSchema(registry, topic, readFileSync(join(projectRoot, 'schemas', 'instrument-prices', 'v1.avsc'), 'utf8'));
console.log(`topic ${topic} (compacted, 3 partitions), value schema id ${schemaId} under ${topic}-value\n`);

const producer = createSafeProducer(kafka);
await producer.connect();
for (const [key, value] of updates) {
  const [ack] = await producer.send({ topic, acks: -1, messages: [{ key, value: value ? await registry.encode(schemaId, value) : null }] });
  console.log(`${value ? 'upsert' : 'delete'} ${key.padEnd(9)} -> partition ${String(ack?.partition)} offset ${String(ack?.baseOffset)}`);
}
await producer.disconnect();

// Replay: read every partition from the beginning up to the end offsets captured now.
const ends = new Map((await withAdmin(kafka, (admin) => admin.fetchTopicOffsets(topic))).map((p) => [p.partition, Number(p.high)]));
const positions = new Map([...ends.keys()].map((p) => [p, 0]));
const state = new Map<string, { value: Price; partition: number; offset: string }>();
const groupId = `hotstate-demo-${randomUUID()}`;
const consumer = createTailingConsumer(kafka, groupId);
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
const caughtUp = (): boolean => [...ends].every(([p, end]) => (positions.get(p) ?? 0) >= end);
await new Promise<void>((resolve, reject) => {
  if (caughtUp()) resolve();
  consumer.run({
    eachMessage: async ({ partition, message }) => {
      const key = message.key?.toString('utf8') ?? '';
      if (message.value === null) state.delete(key);
      else state.set(key, { value: (await registry.decode(message.value)) as Price, partition, offset: message.offset });
      positions.set(partition, Number(message.offset) + 1);
      if (caughtUp()) resolve();
    },
  }).catch(reject);
});
await consumer.disconnect();
await withAdmin(kafka, (admin) => admin.deleteGroups([groupId])); // leave no stale consumer group behind

console.log(`\nreplayed state (${state.size} keys):`);
for (const [key, { value, partition, offset }] of [...state].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`  ${key.padEnd(9)} ${value.price.toFixed(2).padStart(8)} ${value.currency}  version ${partition}/${offset}`);
}
