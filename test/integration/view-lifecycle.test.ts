// Log-level events the view must survive: transaction markers at the end of the log, real compaction, a deleted
// and recreated topic, and a replay slower than delete.retention.ms.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { encodeFramed, parseAvroSchema } from '../../services/lib/codec/confluent-avro.ts';
import { withAdmin } from '../helpers/kafkajs-client.ts';
import { readToEnd } from '../helpers/read-to-end.ts';
import { ensureDatasetTopic } from '../../services/lib/kafka/topics.ts';
import { registerValueSchema } from '../../services/lib/registry.ts';
import { price, pricesTopic, schemaText } from '../helpers/datasets.ts';
import { createTestTopic, testInfra, testKafka, testRegistry, testTransport } from '../helpers/infra.ts';
import { rawSend } from '../helpers/raw.ts';
import { testView, viewDigest } from '../helpers/views.ts';
import { createView } from '../../services/lib/view/view.ts';
import { isHotstateError } from '../../services/lib/errors.ts';

const prices = parseAvroSchema(schemaText('instrument-prices', 2));

describe('view lifecycle', () => {
  test('a view of a topic that does not exist fails at once, naming it', async () => {
    const topic = `missing-${randomUUID()}`;
    const began = Date.now();
    await assert.rejects(
      createView({ kafka: testInfra().kafka, registryUrl: testInfra().registry, topic }),
      (error: unknown) =>
        isHotstateError(error, 'HOTSTATE_ERR_RESOURCE_NOT_FOUND') && error.message === `topic ${topic} does not exist`,
    );
    assert.ok(Date.now() - began < 5000, 'no retrying of a topic that is not there');
  });

  test('a topic whose last offsets are transaction markers (commit and abort) still becomes ready', async (t) => {
    const kafka = testKafka(t);
    const topic = await createTestTopic(t, kafka, { partitions: 2 });
    const id = await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 2));
    const producer = kafka.producer({
      transactionalId: `tx-${randomUUID()}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    t.after(() => producer.disconnect());
    const committed = await producer.transaction();
    await committed.send({
      topic,
      messages: [
        { key: 'A', value: encodeFramed(prices, id, price('A', 1)), partition: 0 },
        { key: 'B', value: encodeFramed(prices, id, price('B', 2)), partition: 1 },
      ],
    });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({
      topic,
      messages: [{ key: 'A', value: encodeFramed(prices, id, price('A', 99)), partition: 0 }],
    });
    await aborted.abort();
    // The coordinator writes the markers after EndTxn is answered: wait until they are in the log.
    const ends = async (): Promise<number[]> =>
      (await withAdmin(kafka, (admin) => admin.fetchTopicOffsets(topic))).map((o) => Number(o.high)).sort();
    const markers = Date.now() + 15_000;
    while (JSON.stringify(await ends()) !== '[2,4]' && Date.now() < markers) await sleep(100);
    assert.deepEqual(await ends(), [2, 4], 'markers occupy the last offsets');

    const view = await testView(t, topic);
    await Promise.race([
      view.ready,
      sleep(15_000).then(() => {
        throw new Error(`not ready: ${JSON.stringify(view.status())}`);
      }),
    ]);
    assert.equal(view.get<{ price: number }>('A')?.value.price, 1, 'aborted record not applied');
    assert.equal(view.get<{ price: number }>('B')?.value.price, 2);
  });

  test('compaction really happens, and the view is identical before and after', async (t) => {
    // Small segments and an eager cleaner so the broker compacts within seconds.
    const { topic, producer } = await pricesTopic(t, {}, 1, {
      'segment.ms': '200',
      'min.cleanable.dirty.ratio': '0.01',
      'min.compaction.lag.ms': '0',
    });
    for (let round = 0; round < 10; round++) {
      await producer.send(
        Array.from({ length: 50 }, (_, i) => ({
          key: `K${String(i)}`,
          value: i % 10 === 0 && round === 9 ? null : price(`K${String(i)}`, round),
        })),
      );
      await sleep(250); // let segments roll
    }
    const before = await testView(t, topic);
    await before.ready;
    const deadline = Date.now() + 60_000;
    let records = (await readToEnd(testKafka(t), topic)).length;
    while (records >= 500 && Date.now() < deadline) {
      await producer.upsert('roll', price('roll')); // a write after segment.ms rolls the active segment
      await sleep(500);
      records = (await readToEnd(testKafka(t), topic)).length;
    }
    assert.ok(records < 500, `compaction removed records (${String(records)} of 500+ left)`);
    const after = await testView(t, topic);
    await after.ready;
    await before.waitFor(after.token, 5000);
    assert.equal(
      viewDigest(after),
      viewDigest(before),
      'a replay of the compacted log equals the view that saw every record',
    );
    assert.deepEqual([after.has('K0'), after.has('K1')], [false, true]);
  });

  test('a deleted and recreated topic is detected and the view rebuilds from the new topic', async (t) => {
    const kafka = testKafka(t);
    const topic = await createTestTopic(t, kafka);
    const id = await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 2));
    await rawSend(
      t,
      topic,
      Array.from({ length: 20 }, (_, i) => ({
        key: `K${String(i)}`,
        value: encodeFramed(prices, id, price(`K${String(i)}`)),
      })),
    );
    const view = await testView(t, topic);
    await view.ready;
    assert.equal(view.size, 20);
    const rebuilt = new Promise<string>((resolve) => view.once('rebuild', resolve));
    await withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [topic] }));
    const transport = testTransport(t);
    const gone = Date.now() + 20_000;
    while ((await transport.topics()).includes(topic) && Date.now() < gone) await sleep(100); // deletion is asynchronous
    await ensureDatasetTopic(transport, { topic });
    await rawSend(t, topic, [{ key: 'fresh', value: encodeFramed(prices, id, price('fresh')) }]);
    assert.ok(
      ['topic-recreated', 'topic-truncated', 'offset-out-of-range'].includes(await rebuilt),
      'rebuilt because the topic was recreated',
    );
    const deadline = Date.now() + 20_000;
    while (!(view.status().ready && view.has('fresh')) && Date.now() < deadline) await sleep(100);
    assert.deepEqual([view.size, view.has('fresh'), view.has('K0')], [1, true, false]);
  });

  test('a replay slower than delete.retention.ms is never served as ready', async (t) => {
    const kafka = testKafka(t);
    const topic = await createTestTopic(t, kafka, { configs: { 'delete.retention.ms': '1' }, minDeleteRetentionMs: 0 });
    const id = await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 2));
    await rawSend(t, topic, [
      { key: 'A', value: encodeFramed(prices, id, price('A')) },
      { key: 'A', value: null },
    ]);
    const view = await testView(t, topic);
    const deadline = Date.now() + 10_000;
    while (!view.status().failed && Date.now() < deadline) await sleep(50);
    assert.equal(view.status().ready, false);
    assert.match(view.status().reason ?? '', /longer than delete\.retention\.ms=1: tombstones may have been purged/);
  });
});
