// The view against the real broker and registry: replay, readiness, versions, waitFor, atomic batches,
// snapshots, change notifications, schema evolution, and two instances agreeing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { isHotstateError } from '../../services/lib/errors.ts';
import { withAdmin } from '../helpers/kafkajs-client.ts';
import { createProducer } from '../../services/lib/producer/producer.ts';
import { registerValueSchema } from '../../services/lib/registry.ts';
import { formatVersionToken, parseVersionToken } from '../../services/lib/version-token.ts';
import type { Change } from '../../services/lib/view/view.ts';
import { price, pricesTopic, schemaText } from '../helpers/datasets.ts';
import { createTestTopic, testInfra, testKafka, testRegistry } from '../helpers/infra.ts';
import { testView, viewDigest } from '../helpers/views.ts';

describe('view', () => {
  test('an empty topic is ready at once', async (t) => {
    const topic = await createTestTopic(t, testKafka(t), { partitions: 3 });
    const view = await testView(t, topic);
    await view.ready;
    assert.equal(view.size, 0);
    assert.equal(view.status().ready, true);
    assert.equal(view.progress().share, 1);
  });

  test('replays upserts and deletes with per-key metadata, then tails with low latency', async (t) => {
    const { topic, producer } = await pricesTopic(t);
    await producer.send([
      { key: 'A', value: price('A', 1) },
      { key: 'B', value: price('B', 2) },
      { key: 'C', value: price('C', 3) },
      { key: 'A', value: price('A', 4) },
      { key: 'B', value: null },
    ]);
    const view = await testView(t, topic);
    await view.ready;
    assert.deepEqual([view.size, view.has('B')], [2, false]);
    const a = view.get<{ price: number }>('A');
    assert.ok(a);
    assert.equal(a.value.price, 4);
    assert.equal(a.schemaId, producer.schemaId);
    assert.ok(a.timestamp > Date.now() - 60_000);

    const began = performance.now();
    const write = await producer.upsert('D', price('D', 9));
    await view.waitFor(write.token, 5000);
    const latency = performance.now() - began;
    const d = view.get('D');
    assert.deepEqual([d?.partition, d?.offset], [write.partition, write.offset]);
    t.diagnostic(`produce-to-visible ${latency.toFixed(1)} ms`);
    assert.ok(latency < 2000, `tailing is live (took ${latency.toFixed(0)} ms)`);
  });

  test('waitFor: read-your-writes across producer and view; malformed and foreign tokens are rejected', async (t) => {
    const { topic, producer } = await pricesTopic(t);
    const view = await testView(t, topic);
    await view.ready;
    const { token } = await producer.send([
      { key: 'X', value: price('X') },
      { key: 'Y', value: price('Y') },
    ]);
    await view.waitFor(token, 5000);
    assert.ok(view.has('X') && view.has('Y'));
    for (const [p, next] of parseVersionToken(token).positions) assert.ok((view.version.positions.get(p) ?? 0) >= next);

    await assert.rejects(
      view.waitFor('garbage'),
      (e: unknown) => isHotstateError(e, 'HOTSTATE_ERR_TOKEN_MALFORMED') && /malformed version token/.test(e.message),
    );
    await assert.rejects(
      view.waitFor(formatVersionToken({ topic: 'other', positions: new Map([[0, 1]]) })),
      (e: unknown) => isHotstateError(e, 'HOTSTATE_ERR_TOKEN_TOPIC'),
    );
    const future = formatVersionToken({ topic, positions: new Map([[0, 1_000_000]]) });
    await assert.rejects(
      view.waitFor(future, 300),
      (e: unknown) => isHotstateError(e, 'HOTSTATE_ERR_WAIT_TIMEOUT') && /did not reach/.test(e.message),
    );
  });

  test('batches are visible atomically; a snapshot reads one version across awaits', async (t) => {
    const { topic, producer } = await pricesTopic(t, {}, 1);
    const keys = Array.from({ length: 200 }, (_, i) => `K${String(i).padStart(3, '0')}`);
    await producer.send(keys.map((key) => ({ key, value: price(key, 1) })));
    const view = await testView(t, topic);
    await view.ready;

    // Every batch writes the same generation to all keys; any reader must see a single generation.
    const seen = new Set<string>();
    const stop = view.onChange(() => {
      const generations = new Set(keys.map((k) => view.get<{ price: number }>(k)?.value.price));
      seen.add([...generations].join(','));
    });
    const snapshot = view.snapshot();
    t.after(() => {
      snapshot.release();
    });
    for (let generation = 2; generation <= 6; generation++) {
      const { token } = await producer.send(keys.map((key) => ({ key, value: price(key, generation) })));
      await view.waitFor(token, 5000);
    }
    stop(); // the next batch deletes K000 on purpose: not a generation change
    await producer.send([
      { key: 'K000', value: null },
      { key: 'NEW', value: price('NEW', 9) },
    ]);
    assert.ok(
      [...seen].every((s) => !s.includes(',')),
      `a reader saw mixed generations: ${[...seen].join(' | ')}`,
    );

    let count = 0;
    for (const item of snapshot.items<{ price: number }>()) {
      assert.equal(item.value.price, 1, `snapshot item ${item.key} is from its version`);
      count++;
      if (count % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 20)); // updates keep landing meanwhile
    }
    assert.equal(count, 200);
    assert.equal(snapshot.get('NEW'), undefined);
    assert.equal(snapshot.get<{ price: number }>('K000')?.value.price, 1);
    const many = view.getMany(['K001', 'K002', 'missing']);
    assert.equal(many.items.size, 2);
    assert.equal(parseVersionToken(many.token).topic, topic);
  });

  test('change notifications: previous and new values, deletes, prefix filter, offset order', async (t) => {
    const { topic, producer } = await pricesTopic(t, {}, 1);
    const view = await testView(t, topic);
    await view.ready;
    const all: Array<Change<{ price: number }>> = [];
    const fx: string[] = [];
    view.onChange<{ price: number }>((c) => all.push(c));
    view.onChange((c) => fx.push(c.key), { prefix: 'fx:' });
    await producer.upsert('fx:EUR', price('fx:EUR', 1));
    await producer.upsert('eq:ACME', price('eq:ACME', 2));
    await producer.upsert('fx:EUR', price('fx:EUR', 3));
    const last = await producer.delete('fx:EUR');
    await view.waitFor(last.token, 5000);
    assert.deepEqual(
      all.map((c) => [c.key, c.previous?.price, c.value?.price]),
      [
        ['fx:EUR', undefined, 1],
        ['eq:ACME', undefined, 2],
        ['fx:EUR', 1, 3],
        ['fx:EUR', 3, undefined],
      ],
    );
    assert.deepEqual(
      all.map((c) => c.offset),
      [0, 1, 2, 3],
    );
    assert.deepEqual(fx, ['fx:EUR', 'fx:EUR', 'fx:EUR']);
  });

  test('schema evolution: v1 and v2 records resolve to a reader schema; records counted per writer schema', async (t) => {
    const kafka = testKafka(t);
    const topic = await createTestTopic(t, kafka);
    const v1 = await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 1));
    const v2 = await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 2));
    const options = { kafka: testInfra().kafka, registryUrl: testRegistry(), topic };
    const old = await createProducer({ ...options, schema: schemaText('instrument-prices', 1) });
    await old.upsert('OLD', { instrument: 'OLD', price: 1, currency: 'EUR', updatedAt: 1 });
    await old.close();
    const current = await createProducer(options);
    await current.upsert('NEW', price('NEW'));
    await current.close();

    const metrics = new Registry();
    const view = await testView(t, topic, { readerSchema: schemaText('instrument-prices', 2), metrics });
    await view.ready;
    assert.deepEqual(
      { ...view.get<object>('OLD')?.value },
      { instrument: 'OLD', price: 1, currency: 'EUR', updatedAt: 1, venue: null },
    );
    assert.equal(view.get('OLD')?.schemaId, v1);
    assert.equal(view.get('NEW')?.schemaId, v2);
    assert.deepEqual(
      [...view.recordsBySchema()].sort(),
      [
        [v1, 1],
        [v2, 1],
      ].sort(),
    );
    const writerOnly = await testView(t, topic);
    await writerOnly.ready;
    assert.equal(
      'venue' in (writerOnly.get<object>('OLD')?.value ?? {}),
      false,
      'without a reader schema, the writer schema decodes',
    );
  });

  test('two instances replaying the same topic hold identical content and versions', async (t) => {
    const { topic, producer } = await pricesTopic(t);
    for (let round = 0; round < 5; round++) {
      await producer.send(
        Array.from({ length: 100 }, (_, i) => ({
          key: `K${String(i)}`,
          value: i % 7 === round ? null : price(`K${String(i)}`, round),
        })),
      );
    }
    const [one, two] = await Promise.all([testView(t, topic), testView(t, topic)]);
    await Promise.all([one.ready, two.ready]);
    assert.equal(one.token, two.token);
    assert.equal(viewDigest(one), viewDigest(two));
    assert.ok(one.size > 0);
  });

  test('metrics: keys, ready, positions, lag, applied, latency', async (t) => {
    const metrics = new Registry();
    const { topic, producer } = await pricesTopic(t, {}, 2);
    await producer.send([
      { key: 'A', value: price('A') },
      { key: 'B', value: price('B') },
      { key: 'A', value: null },
    ]);
    const view = await testView(t, topic, { metrics });
    await view.ready;
    await view.waitFor((await producer.upsert('C', price('C'))).token, 5000);
    const text = await metrics.metrics();
    for (const pattern of [
      `hotstate_view_ready{topic="${topic}"} 1`,
      `hotstate_view_keys{topic="${topic}"} 2`,
      `hotstate_view_records_applied_total{topic="${topic}",operation="upsert"} 3`,
      `hotstate_view_records_applied_total{topic="${topic}",operation="delete"} 1`,
      `hotstate_view_update_latency_seconds_count{topic="${topic}"} 1`,
      `hotstate_view_position{topic="${topic}",partition="`,
      `hotstate_view_lag_records{topic="${topic}",partition="`,
      `hotstate_view_replay_duration_seconds{topic="${topic}"}`,
    ])
      assert.ok(text.includes(pattern), `${pattern} in\n${text}`);
    // Manual assignment: a running view joins no consumer group at all (nothing a coordinator move can break).
    await withAdmin(testKafka(t), async (admin) => {
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
      assert.deepEqual(
        groups.filter((g) => g.startsWith('hotstate')),
        [],
        'a running view belongs to no consumer group',
      );
    });
    await view.close();
  });
});
