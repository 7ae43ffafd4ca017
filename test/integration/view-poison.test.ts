// Poison records of every kind are produced raw; the view survives each under every policy, keeps the key's last
// good value, and never dead-letters because the registry was down.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { Registry } from 'prom-client';
import { encodeFramed, parseAvroSchema } from '../../services/lib/codec/confluent-avro.ts';
import { readToEnd } from '../helpers/read-to-end.ts';
import { ensureDatasetTopic } from '../../services/lib/kafka/topics.ts';
import { registerValueSchema } from '../../services/lib/registry.ts';
import { price, pricesTopic, schemaText } from '../helpers/datasets.ts';
import {
  createTestTopic,
  testInfra,
  testKafka,
  testRegistry,
  testTransport,
  uniqueTopicName,
} from '../helpers/infra.ts';
import { startPrivateRegistry } from '../helpers/private-infra.ts';
import { framed, rawSend } from '../helpers/raw.ts';
import { testView } from '../helpers/views.ts';
import { tcpProxy } from '../helpers/tcp-proxy.ts';
import { withAdmin } from '../helpers/kafkajs-client.ts';
import { createView, type HotstateView } from '../../services/lib/view/view.ts';
import { deadLetterTopicConfigs } from '../../services/lib/view/dead-letters.ts';
import { isHotstateError } from '../../services/lib/errors.ts';
import { createHash } from 'node:crypto';
import { freePortBlock } from '../helpers/ports.ts';

const prices = parseAvroSchema(schemaText('instrument-prices', 2));

/** Every kind of poison, as [name, value bytes]; `foreignId` is a schema id registered under another subject. */
function poisons(schemaId: number, foreignId: number): Array<[string, Buffer]> {
  const good = encodeFramed(prices, schemaId, price('P', 1));
  const hostileArray = framed(
    schemaId,
    Buffer.concat([Buffer.from([0x02, 0x50]), Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x0f])]),
  );
  return [
    ['bad-magic-byte', Buffer.concat([Buffer.from([1]), good.subarray(1)])],
    ['unknown-schema-id', framed(999_999, good.subarray(5))],
    ['foreign-schema-id', framed(foreignId, good.subarray(5))],
    ['truncated', good.subarray(0, good.length - 3)],
    ['trailing', Buffer.concat([good, Buffer.from([0, 0])])],
    ['header-only', good.subarray(0, 3)],
    ['too-large', framed(schemaId, Buffer.alloc(3000, 1))],
    ['hostile-length', hostileArray],
  ];
}

async function poisonTopic(t: TestContext): Promise<{ topic: string; schemaId: number; foreignId: number }> {
  const { topic, producer } = await pricesTopic(t, {}, 1);
  const other = await createTestTopic(t, testKafka(t));
  const foreignId = await registerValueSchema(testRegistry(), other, {
    type: 'record',
    name: 'Other',
    fields: [{ name: 'x', type: 'string' }],
  });
  await producer.upsert('P', price('P', 1)); // the last good value of P
  return { topic, schemaId: producer.schemaId, foreignId };
}

describe('poison records', () => {
  test('skip: every kind is counted, the view stays up and keeps the last good value', async (t) => {
    const { topic, schemaId, foreignId } = await poisonTopic(t);
    const kinds = poisons(schemaId, foreignId);
    await rawSend(t, topic, [
      ...kinds.map(([, value]) => ({ key: 'P', value })),
      { key: 'Q', value: encodeFramed(prices, schemaId, price('Q', 2)) },
    ]);
    const metrics = new Registry();
    const view = await testView(t, topic, { metrics, maxValueBytes: 2000 });
    await view.ready;
    assert.equal(view.get<{ price: number }>('P')?.value.price, 1, 'last good value kept');
    assert.equal(view.isPoisoned('P'), true);
    assert.equal(view.get<{ price: number }>('Q')?.value.price, 2, 'records after the poison are applied');
    const text = await metrics.metrics();
    for (const reason of [
      'bad-magic-byte',
      'unknown-schema-id',
      'foreign-schema-id',
      'malformed',
      'truncated',
      'too-large',
    ]) {
      assert.match(
        text,
        new RegExp(`hotstate_view_decode_errors_total\\{topic="${topic}",reason="${reason}"\\} \\d`),
        reason,
      );
    }
    const total = [...text.matchAll(/hotstate_view_decode_errors_total\{[^}]*\} (\d+)/g)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
    assert.equal(total, kinds.length);
  });

  test('dead-letter: original bytes and the error go to the dead-letter topic', async (t) => {
    const { topic, schemaId, foreignId } = await poisonTopic(t);
    const dlq = `${topic}.hotstate-dlq`;
    await ensureDatasetTopic(testTransport(t), { topic: dlq });
    t.after(() => withAdmin(testKafka(t), (admin) => admin.deleteTopics({ topics: [dlq] })));
    const kinds = poisons(schemaId, foreignId);
    await rawSend(
      t,
      topic,
      kinds.map(([, value]) => ({ key: 'P', value })),
    );
    const view = await testView(t, topic, { poisonPolicy: 'dead-letter', maxValueBytes: 2000 });
    await view.ready;
    const letters = await readToEnd(testKafka(t), dlq);
    assert.equal(letters.length, kinds.length);
    kinds.forEach(([, value], i) => {
      const letter = letters[i];
      assert.ok(letter, `dead letter ${String(i)}`);
      assert.ok(letter.value?.equals(value), `dead letter ${String(i)} holds the original bytes`);
      assert.equal(letter.headers['hotstate-source-topic'], topic);
      assert.match(String(letter.headers['hotstate-error']), /^[a-z-]+: ./u);
    });
    assert.equal(view.get<{ price: number }>('P')?.value.price, 1);
  });

  test('dead letters always work or fail fast: missing topic, non-UTF-8 keys, values too large for it', async (t) => {
    const { topic, schemaId } = await poisonTopic(t);
    const dlq = `${topic}.hotstate-dlq`;
    t.after(() => withAdmin(testKafka(t), (admin) => admin.deleteTopics({ topics: [dlq] })));
    await assert.rejects(
      testView(t, topic, { poisonPolicy: 'dead-letter' }),
      (error: unknown) =>
        isHotstateError(error, 'HOTSTATE_ERR_CONFIG_INVALID') &&
        error.message.includes(`dead-letter topic ${dlq} does not exist`),
    );
    // Created by the view when allowed; here with a small max.message.bytes, to show oversized values still go.
    await testTransport(t).createTopic({
      topic: dlq,
      partitions: 1,
      configs: { 'cleanup.policy': 'delete', 'max.message.bytes': '20000' },
    });
    const huge = framed(schemaId, Buffer.alloc(50_000, 7));
    const binaryKey = Buffer.from([0xff, 0xfe, 0x00]);
    await rawSend(t, topic, [
      { key: binaryKey, value: Buffer.from([1, 2, 3, 4, 5, 6]) },
      { key: 'P', value: huge },
    ]);
    const view = await testView(t, topic, { poisonPolicy: 'dead-letter', maxValueBytes: 2000 });
    await view.ready;
    const letters = await readToEnd(testKafka(t), dlq);
    assert.equal(letters.length, 2);
    const [binary, oversized] = letters;
    assert.ok(binary?.key?.equals(binaryKey), 'the raw key bytes are kept');
    assert.deepEqual(
      [
        oversized?.headers['hotstate-value-truncated'],
        oversized?.headers['hotstate-original-value-bytes'],
        oversized?.value?.length,
      ],
      ['true', String(huge.length), 1024],
    );
    assert.equal(oversized?.headers['hotstate-original-value-sha256'], createHash('sha256').update(huge).digest('hex'));
    assert.equal(view.status().ready, true);
  });

  test('createDeadLetterTopic: a missing dead-letter topic is created with the documented configuration', async (t) => {
    const { topic } = await poisonTopic(t);
    const dlq = `${topic}.hotstate-dlq`;
    t.after(() => withAdmin(testKafka(t), (admin) => admin.deleteTopics({ topics: [dlq] })));
    await rawSend(t, topic, [{ key: 'P', value: Buffer.from([7, 7, 7, 7, 7, 7]) }]);
    const view = await testView(t, topic, { poisonPolicy: 'dead-letter', createDeadLetterTopic: true });
    await view.ready;
    const configs = await testTransport(t).topicConfigs(dlq);
    assert.deepEqual(
      [configs['cleanup.policy'], configs['retention.ms']],
      [deadLetterTopicConfigs['cleanup.policy'], deadLetterTopicConfigs['retention.ms']],
    );
    assert.equal((await readToEnd(testKafka(t), dlq)).length, 1);
  });

  test('a topic in another format (JSON from a JsonConverter) fails the view at start, naming what it found', async (t) => {
    const topic = await createTestTopic(t, testKafka(t));
    const json = (id: number): string =>
      JSON.stringify({ schema: { type: 'struct' }, payload: { before: null, after: { id }, op: 'c' } });
    await rawSend(
      t,
      topic,
      Array.from({ length: 5 }, (_, i) => ({ key: JSON.stringify({ id: i }), value: json(i) })),
    );
    const view = await testView(t, topic); // poisonPolicy skip: still never ready-and-empty
    await assert.rejects(
      view.ready,
      /not Avro in the Confluent frame.*JSON \(Kafka Connect's JsonConverter.*offset 0\) starts with "\{\\"schema/,
    );
    assert.equal(view.status().failed, true);
    assert.equal(view.size, 0);
  });

  test('fail: the view stops, reports not ready and why', async (t) => {
    const { topic } = await poisonTopic(t);
    await rawSend(t, topic, [{ key: 'P', value: Buffer.from([7, 7, 7, 7, 7, 7]) }]);
    const view = await testView(t, topic, { poisonPolicy: 'fail' });
    const deadline = Date.now() + 10_000;
    while (!view.status().failed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const status = view.status();
    assert.deepEqual([status.ready, status.failed], [false, true]);
    assert.match(status.reason ?? '', /poison record at partition 0 offset 1: magic byte is 7, expected 0/);
  });

  test('a registry outage is waited out (not ready), never dead-lettered; decoding resumes after', async (t) => {
    const registryPort = await freePortBlock(2);
    const proxyPort = await freePortBlock(1);
    const registry = await startPrivateRegistry(t, registryPort);
    const proxy = await tcpProxy(t, proxyPort, registryPort);
    const proxiedUrl = registry.address.replace(`:${String(registryPort)}`, `:${String(proxyPort)}`);
    assert.notEqual(proxiedUrl, registry.address, 'the view goes through the proxy');
    const topic = uniqueTopicName(t);
    const kafka = testKafka(t);
    await ensureDatasetTopic(testTransport(t), { topic });
    const dlq = `${topic}.hotstate-dlq`;
    await ensureDatasetTopic(testTransport(t), { topic: dlq });
    t.after(() => withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [topic, dlq] })));
    const v1 = await registerValueSchema(registry.address, topic, schemaText('instrument-prices', 1));
    const v2 = await registerValueSchema(registry.address, topic, schemaText('instrument-prices', 2));
    const typeV1 = parseAvroSchema(schemaText('instrument-prices', 1));
    await rawSend(t, topic, [
      { key: 'A', value: encodeFramed(typeV1, v1, { instrument: 'A', price: 1, currency: 'EUR', updatedAt: 1 }) },
    ]);
    const view = await createViewVia(t, topic, proxiedUrl);
    await view.ready;

    proxy.down();
    await rawSend(t, topic, [
      { key: 'A', value: encodeFramed(typeV1, v1, { instrument: 'A', price: 2, currency: 'EUR', updatedAt: 2 }) },
    ]);
    const seenBefore = async (): Promise<number> => (await readToEnd(kafka, topic)).length;
    assert.equal(await seenBefore(), 2);
    await waitUntil(
      () => view.get<{ price: number }>('A')?.value.price === 2,
      'a known schema keeps decoding during the outage',
    );
    await rawSend(t, topic, [{ key: 'B', value: encodeFramed(prices, v2, price('B', 5)) }]);
    await waitUntil(
      () => /waiting for the schema registry/.test(view.status().reason ?? ''),
      'not ready while the registry is down',
    );
    assert.equal(view.status().ready, false);
    assert.equal(view.has('B'), false);

    proxy.up();
    await waitUntil(() => view.get<{ price: number }>('B')?.value.price === 5, 'resumes once the registry answers');
    await waitUntil(() => view.status().ready, 'ready again');
    assert.equal((await readToEnd(kafka, dlq)).length, 0, 'nothing dead-lettered');
    assert.equal(view.isPoisoned('B'), false);
  });
});

async function createViewVia(t: TestContext, topic: string, registryUrl: string): Promise<HotstateView> {
  const view = await createView({ kafka: testInfra().kafka, registryUrl, topic, poisonPolicy: 'dead-letter' });
  t.after(() => view.close());
  return view;
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
