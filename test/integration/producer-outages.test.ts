// Outages, each on a broker or registry of the test's own: a stopped broker gives a clear error within a bound,
// never a hang; a stopped registry gives a clear error, while a producer that already knows its schema goes on.
import { withTransport } from '../../services/lib/transport/platformatic/platformatic-transport.ts';
import { testTransport } from '../helpers/infra.ts';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isHotstateError } from '../../services/lib/errors.ts';
import { ensureDatasetTopic } from '../../services/lib/kafka/topics.ts';
import { createProducer } from '../../services/lib/producer/producer.ts';
import { registerValueSchema } from '../../services/lib/registry.ts';
import { price, schemaText } from '../helpers/datasets.ts';
import { testInfra, testRegistry, uniqueTopicName } from '../helpers/infra.ts';
import { startPrivateKafka, startPrivateRegistry } from '../helpers/private-infra.ts';
import { freePortBlock } from '../helpers/ports.ts';

test('broker stopped: a bounded wait, then a clear transport error', async (t) => {
  const broker = await startPrivateKafka(t, await freePortBlock(2));
  const topic = uniqueTopicName(t);
  await withTransport({ brokers: [broker.address] }, (transport) => ensureDatasetTopic(transport, { topic }));
  await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 2));
  const producer = await createProducer({
    kafka: { brokers: [broker.address], connectionTimeoutMs: 1000, requestTimeoutMs: 3000 },
    registryUrl: testRegistry(),
    topic,
    sendTimeoutMs: 15_000,
  });
  t.after(() => producer.close().catch(() => undefined));
  await producer.upsert('ACME', price('ACME'));
  await broker.stop();

  const began = performance.now();
  await assert.rejects(producer.upsert('ACME', price('ACME', 2)), (error: unknown) => {
    assert.ok(isHotstateError(error), String(error));
    assert.ok(['HOTSTATE_ERR_TRANSPORT_KAFKA', 'HOTSTATE_ERR_TRANSPORT_TIMEOUT'].includes(error.code), error.code);
    assert.equal(error.retriable, true);
    assert.match(error.message, new RegExp(`of ${topic}`));
    return true;
  });
  const seconds = (performance.now() - began) / 1000;
  assert.ok(seconds < 20, `gave up after ${seconds.toFixed(1)} s`);
  t.diagnostic(`send to a stopped broker failed after ${seconds.toFixed(1)} s`);
});

test('registry stopped: a new producer fails clearly; a connected one keeps writing', async (t) => {
  const registry = await startPrivateRegistry(t, await freePortBlock(2));
  const transport = testTransport(t);
  const topic = uniqueTopicName(t);
  await ensureDatasetTopic(transport, { topic });
  await registerValueSchema(registry.address, topic, schemaText('instrument-prices', 2));
  const connected = await createProducer({ kafka: testInfra().kafka, registryUrl: registry.address, topic });
  t.after(() => connected.close());
  await registry.stop();

  await assert.rejects(
    createProducer({ kafka: testInfra().kafka, registryUrl: registry.address, topic }),
    (error: unknown) => {
      assert.ok(isHotstateError(error, 'HOTSTATE_ERR_REGISTRY_UNAVAILABLE'), String(error));
      assert.match(
        error.message,
        /schema registry http:\/\/\S+ unavailable while checking the registry URL: \S+: connection refused/,
      );
      return true;
    },
  );
  const write = await connected.upsert('ACME', price('ACME'));
  assert.ok(write.offset >= 0, 'the schema id is already known, so writes continue');
});
