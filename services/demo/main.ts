// Demo: emit a few price updates (and one delete) through the producer library, then replay the topic from the
// beginning into an in-memory map and print it with each key's version (partition/offset). `npm run demo`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectionFromEnv, projectRoot } from '../../infra/settings.ts';
import { createKafka } from '../lib/kafka/client.ts';
import { readToEnd } from '../lib/kafka/read-to-end.ts';
import { ensureDatasetTopic } from '../lib/kafka/topics.ts';
import { createProducer } from '../lib/producer/producer.ts';
import { createSchemaRegistry } from '../lib/registry.ts';

const topic = 'demo.instrument-prices';
const { brokers, registryUrl } = connectionFromEnv();

interface Price {
  instrument: string;
  price: number;
  currency: string;
  updatedAt: number;
  venue?: string | null;
}

const price = (instrument: string, value: number, currency: string, venue: string | null = null): Price => ({ instrument, price: value, currency, updatedAt: Date.now(), venue });
const updates: Array<[string, Price | null]> = [
  ['ACME', price('ACME', 101.25, 'EUR', 'XPAR')],
  ['GLOBEX', price('GLOBEX', 55.1, 'USD')],
  ['INITECH', price('INITECH', 12, 'GBP')],
  ['ACME', price('ACME', 101.4, 'EUR', 'XPAR')],
  ['UMBRELLA', price('UMBRELLA', 7.5, 'CHF')],
  ['INITECH', null], // tombstone: INITECH is deleted
];

const kafka = createKafka({ brokers, clientId: 'hotstate-demo' });
await ensureDatasetTopic(kafka, { topic, partitions: 3 });
const producer = await createProducer({
  kafka: { brokers, clientId: 'hotstate-demo' },
  registryUrl,
  topic,
  schema: readFileSync(join(projectRoot, 'schemas', 'instrument-prices', 'v2.avsc'), 'utf8'),
  registerSchema: true,
  headers: { source: 'hotstate-demo' },
});
console.log(`topic ${topic} (compacted, 3 partitions), value schema id ${String(producer.schemaId)} under ${topic}-value\n`);
for (const [key, value] of updates) {
  const write = value ? await producer.upsert(key, value) : await producer.delete(key);
  console.log(`${write.operation.padEnd(6)} ${key.padEnd(9)} -> partition ${String(write.partition)} offset ${String(write.offset)}  token ${write.token}`);
}
await producer.close();

// Replay: read every partition from the beginning up to the end offsets captured now.
const registry = createSchemaRegistry(registryUrl);
const state = new Map<string, { value: Price; partition: number; offset: number }>();
for (const record of await readToEnd(kafka, topic)) {
  const key = record.key?.toString('utf8') ?? '';
  if (record.value === null) state.delete(key);
  else state.set(key, { value: (await registry.decode(record.value)) as Price, partition: record.partition, offset: record.offset });
}

console.log(`\nreplayed state (${String(state.size)} keys):`);
for (const [key, { value, partition, offset }] of [...state].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`  ${key.padEnd(9)} ${value.price.toFixed(2).padStart(8)} ${value.currency} ${(value.venue ?? '-').padEnd(5)} version ${String(partition)}/${String(offset)}`);
}
