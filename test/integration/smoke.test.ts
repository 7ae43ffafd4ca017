// The whole chain against the real broker and registry: compacted topic, schema under <topic>-value, a keyed
// Avro record produced and consumed with kafkajs, then read again by independent clients (kcat for the Kafka
// protocol, Apache Avro's Python implementation for the Avro bytes) and compared.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSafeProducer, createTailingConsumer, withAdmin } from '../helpers/kafkajs-client.ts';
import { describeTopicConfigs } from '../../services/lib/kafka/topics.ts';
import { registerValueSchema, registryRequest } from '../../services/lib/registry.ts';
import { skipWithout } from '../helpers/tools.ts';
import {
  confluentRegistry,
  createTestTopic,
  testInfra,
  testKafka,
  testRegistry,
  testTransport,
} from '../helpers/infra.ts';

const priceSchema = {
  type: 'record',
  name: 'InstrumentPrice',
  namespace: 'hotstate.smoke',
  fields: [
    { name: 'instrument', type: 'string' },
    { name: 'price', type: 'double' },
    { name: 'currency', type: { type: 'enum', name: 'Currency', symbols: ['EUR', 'USD', 'GBP'] } },
    { name: 'updatedAt', type: 'long' },
    { name: 'venue', type: ['null', 'string'], default: null },
    { name: 'tags', type: { type: 'map', values: 'string' } },
  ],
};

function kcat(args: string[]): Buffer {
  const result = spawnSync('kcat', args, { timeout: 30_000 });
  if (result.error) throw new Error(`kcat could not run (${result.error.message}); install it: apt-get install kcat`);
  if (result.status !== 0)
    throw new Error(`kcat ${args.join(' ')} exited ${String(result.status)}: ${result.stderr.toString()}`);
  return result.stdout;
}

test('smoke: compacted topic, registered schema, produce, consume, cross-check with kcat', async (t) => {
  const kafka = testKafka(t);
  const topic = await createTestTopic(t, kafka, { partitions: 3 });

  const configs = await describeTopicConfigs(testTransport(t), topic);
  assert.equal(configs['cleanup.policy'], 'compact');

  const schemaId = await registerValueSchema(testRegistry(), topic, priceSchema);
  // @kafkajs/confluent-schema-registry, independently of hotstate's own codec, encodes the value.
  const registry = confluentRegistry();
  const subjects = (await registryRequest(testRegistry(), '/subjects', 'listing subjects')) as string[];
  assert.ok(subjects.includes(`${topic}-value`), `subject ${topic}-value registered`);

  const key = 'instrument:ACME';
  const value = {
    instrument: 'ACME',
    price: 101.25,
    currency: 'EUR',
    updatedAt: 1_795_000_000_000,
    venue: 'XPAR',
    tags: { desk: 'fx', tier: '1' },
  };
  const encoded = await registry.encode(schemaId, value);
  assert.equal(encoded[0], 0, 'magic byte');
  assert.equal(encoded.readUInt32BE(1), schemaId, 'schema id in the header');

  const producer = createSafeProducer(kafka);
  await producer.connect();
  t.after(() => producer.disconnect());
  const [ack] = await producer.send({ topic, acks: -1, messages: [{ key, value: encoded }] });
  assert.ok(ack, 'the broker acknowledged the write');
  const partition = ack.partition;
  const offset = ack.baseOffset ?? '';

  const groupId = `smoke-${randomUUID()}`;
  const consumer = createTailingConsumer(kafka, groupId);
  await consumer.connect();
  t.after(async () => {
    await consumer.disconnect();
    await withAdmin(kafka, (admin) => admin.deleteGroups([groupId]));
  });
  await consumer.subscribe({ topic, fromBeginning: true });
  const consumed = await new Promise<{ key: string; partition: number; offset: string; raw: Buffer }>((resolve) => {
    void consumer.run({
      eachMessage: ({ message, partition: p }) => {
        // message.value is a slice of the whole fetch buffer: copy what outlives the callback.
        resolve({
          key: message.key?.toString('utf8') ?? '',
          partition: p,
          offset: message.offset,
          raw: Buffer.from(message.value ?? Buffer.alloc(0)),
        });
        return Promise.resolve();
      },
    });
  });
  // Stop consuming before the topic is deleted by the cleanup hooks.
  await consumer.disconnect();
  assert.deepEqual(
    { key: consumed.key, partition: consumed.partition, offset: consumed.offset },
    { key, partition, offset },
  );
  assert.deepEqual({ ...((await registry.decode(consumed.raw)) as object) }, value);

  // The Debian tools' cross-checks (outside CI they may be missing: one line says so, and the Java
  // interop test still reads the same bytes with Kafka's and Avro's Java clients).
  const missing = skipWithout('kcat', 'python3-avro');
  if (missing) {
    t.diagnostic(`kcat and Python cross-checks: ${missing}`);
    return;
  }
  // Independent client 1: kcat (librdkafka) reads the record's key, coordinates and raw value bytes.
  const where = ['-C', ...testInfra().kcat, '-t', topic, '-p', String(partition), '-o', offset, '-c', '1', '-e', '-q'];
  const meta = kcat([...where, '-f', '%k|%p|%o|%S'])
    .toString('utf8')
    .trim();
  assert.equal(meta, `${key}|${String(partition)}|${offset}|${String(encoded.length)}`);
  const rawFromKcat = kcat([...where, '-f', '%s']);
  assert.ok(rawFromKcat.equals(encoded), 'kcat reads byte-identical value bytes');

  // Independent client 2: Apache Avro (Python) decodes kcat's bytes with the writer schema fetched by id.
  const decoded = JSON.parse(
    execFileSync(
      '/usr/bin/python3',
      [join(import.meta.dirname, '..', 'tools', 'decode_confluent_avro.py'), testInfra().registryUrl],
      { input: rawFromKcat, timeout: 30_000, env: { ...process.env, ...testInfra().env } },
    ).toString('utf8'),
  ) as { schemaId: number; value: unknown };
  assert.deepEqual(decoded, { schemaId, value });
});
