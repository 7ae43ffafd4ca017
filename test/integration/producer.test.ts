// The producer library against the real broker and registry: acknowledged writes come back with their version,
// bad values are rejected with every failing field and nothing of the call reaches the topic.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { isHotstateError, ValidationError, type ErrorCode } from '../../services/lib/errors.ts';
import { withAdmin } from '../helpers/kafkajs-client.ts';
import { partitionForKey } from '../../services/lib/kafka/murmur2.ts';
import { readToEnd } from '../helpers/read-to-end.ts';
import { registerValueSchema } from '../../services/lib/registry.ts';
import { parseVersionToken } from '../../services/lib/version-token.ts';
import { price, pricesTopic, schemaText } from '../helpers/datasets.ts';
import { confluentRegistry, deleteSubject, testInfra, testKafka, testRegistry } from '../helpers/infra.ts';
import { createProducer } from '../../services/lib/producer/producer.ts';

async function endOffsets(t: Parameters<typeof testKafka>[0], topic: string): Promise<number> {
  const offsets = await withAdmin(testKafka(t), (admin) => admin.fetchTopicOffsets(topic));
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

describe('producer', () => {
  test('upsert and delete are acknowledged with partition, offset and a version token', async (t) => {
    const { topic, producer } = await pricesTopic(t, { headers: { source: 'pricing-engine' } });
    const write = await producer.upsert('ACME', price('ACME', 101.5), { traceId: 'trace-1' });
    const gone = await producer.delete('ACME');
    assert.equal(write.partition, partitionForKey(Buffer.from('ACME'), 3), 'murmur2 partition, like the Java client');
    assert.equal(gone.partition, write.partition);
    assert.equal(gone.offset, write.offset + 1);
    assert.deepEqual([...parseVersionToken(write.token).positions], [[write.partition, write.offset + 1]]);
    assert.equal(parseVersionToken(write.token).topic, topic);

    const records = await readToEnd(testKafka(t), topic);
    assert.equal(records.length, 2);
    const [upserted, tombstone] = records;
    assert.ok(upserted?.value && tombstone);
    assert.equal(upserted.key?.toString(), 'ACME');
    assert.deepEqual(upserted.headers, { 'hotstate-source': 'pricing-engine', 'hotstate-trace-id': 'trace-1' });
    assert.deepEqual({ ...((await confluentRegistry().decode(upserted.value)) as object) }, price('ACME', 101.5));
    assert.equal(upserted.value.readUInt32BE(1), producer.schemaId);
    assert.equal(tombstone.value, null);
  });

  test('a batch returns every record its own offset; concurrent writes share requests', async (t) => {
    const { topic, producer } = await pricesTopic(t);
    const keys = Array.from({ length: 50 }, (_, i) => `K${String(i)}`);
    const batch = await producer.send(keys.map((key) => ({ key, value: price(key) })));
    const singles = await Promise.all(keys.map((key) => producer.upsert(key, price(key, 2))));
    const byCoordinates = new Map(
      (await readToEnd(testKafka(t), topic)).map((r) => [
        `${String(r.partition)}/${String(r.offset)}`,
        r.key?.toString(),
      ]),
    );
    for (const r of [...batch.results, ...singles])
      assert.equal(byCoordinates.get(`${String(r.partition)}/${String(r.offset)}`), r.key);
    const token = parseVersionToken(batch.token);
    for (const r of batch.results)
      assert.ok((token.positions.get(r.partition) ?? 0) > r.offset, 'batch token covers every write');
  });

  test('a call larger than the broker takes in one batch is cut into requests under maxBatchBytes; all of it lands in order', async (t) => {
    const metrics = new Registry();
    const { topic, producer } = await pricesTopic(t, { metrics }, 1);
    // ~3.6 MB in one call: as one request, the broker refuses the partition's batch (max.message.bytes ~1 MiB).
    const keys = Array.from({ length: 3000 }, (_, i) => `K${String(i)}`);
    const big = producer.send(keys.map((key) => ({ key, value: { ...price(key), venue: 'v'.repeat(1200) } })));
    const beside = producer.upsert('SINGLE', price('SINGLE')); // a call queued behind the big one
    const { results } = await big;
    assert.deepEqual(
      results.map((r) => r.offset),
      keys.map((_, i) => i),
      'every record acknowledged, in call order',
    );
    assert.equal((await beside).offset, keys.length);
    assert.equal((await readToEnd(testKafka(t), topic)).length, keys.length + 1);
    const requests = Number(
      new RegExp(`hotstate_producer_send_duration_seconds_count\\{topic="${topic}"\\} (\\d+)`).exec(
        await metrics.metrics(),
      )?.[1],
    );
    assert.ok(requests >= 4, `${String(requests)} produce requests`);
  });

  test('a call cut into requests stops at its first refused part: what follows is not sent, the next call goes on', async (t) => {
    // Caps set above the topic's limit on purpose (left unset, they follow it: next test).
    const { topic, producer } = await pricesTopic(t, { maxBatchBytes: 90_000, maxValueBytes: 1_000_000 }, 1, {
      'max.message.bytes': '100000',
    });
    const small = (key: string): { key: string; value: Record<string, unknown> } => ({
      key,
      value: { ...price(key), venue: 'v'.repeat(1000) },
    });
    const updates = [
      ...Array.from({ length: 100 }, (_, i) => small(`A${String(i)}`)),
      { key: 'HUGE', value: { ...price('HUGE'), venue: 'v'.repeat(110_000) } }, // alone in its request, above the topic's limit
      ...Array.from({ length: 100 }, (_, i) => small(`B${String(i)}`)),
    ];
    const call = producer.send(updates);
    const next = producer.upsert('NEXT', price('NEXT'));
    await assert.rejects(call, (error: unknown) => isHotstateError(error));
    const written = (await readToEnd(testKafka(t), topic)).map((r) => r.key?.toString());
    assert.deepEqual(
      written.slice(0, 100),
      updates.slice(0, 100).map((u) => u.key),
      'the parts before the refused one were written',
    );
    assert.ok(
      !written.some((key) => key === 'HUGE' || key?.startsWith('B')),
      'nothing after the refused part was sent',
    );
    assert.equal((await next).offset, 100, 'the next call is sent');
  });

  test('unless set, the value cap and the request size follow a topic whose max.message.bytes is smaller', async (t) => {
    const { topic, producer } = await pricesTopic(t, {}, 1, { 'max.message.bytes': '100000' });
    await assert.rejects(producer.upsert('BIG', { ...price('BIG'), venue: 'v'.repeat(99_000) }), (error: unknown) => {
      assert.ok(error instanceof ValidationError && error.code === 'HOTSTATE_ERR_VALIDATION_SIZE', String(error));
      assert.match(error.message, /above the 97952-byte cap/);
      return true;
    });
    const updates = Array.from({ length: 400 }, (_, i) => ({
      key: `K${String(i)}`,
      value: { ...price(`K${String(i)}`), venue: 'v'.repeat(1000) },
    }));
    const { results } = await producer.send(updates); // 400 KB: several requests, each under the topic's limit
    assert.equal(results.length, 400);
    assert.equal((await readToEnd(testKafka(t), topic)).length, 400);
  });

  const bad: Array<[string, Record<string, unknown>, ErrorCode, RegExp]> = [
    [
      'wrong field type',
      { ...price('X'), price: 'cheap' },
      'HOTSTATE_ERR_VALIDATION_VALUE',
      /field price: expected double, got the string "cheap"/,
    ],
    [
      'missing required field',
      Object.fromEntries(Object.entries(price('X')).filter(([name]) => name !== 'currency')),
      'HOTSTATE_ERR_VALIDATION_VALUE',
      /field currency: missing: required one of EUR/,
    ],
    ['unknown field', { ...price('X'), colour: 'red' }, 'HOTSTATE_ERR_VALIDATION_VALUE', /field colour: unknown field/],
    [
      'bad enum symbol',
      { ...price('X'), currency: 'EURO' },
      'HOTSTATE_ERR_VALIDATION_VALUE',
      /field currency: "EURO" is not a symbol of this enum/,
    ],
    [
      'null where not allowed',
      { ...price('X'), instrument: null },
      'HOTSTATE_ERR_VALIDATION_VALUE',
      /field instrument: null is not allowed here; expected string/,
    ],
  ];
  for (const [name, value, code, message] of bad) {
    test(`rejects ${name}, with the field path, and sends nothing of the batch`, async (t) => {
      const { topic, producer } = await pricesTopic(t);
      const before = await endOffsets(t, topic);
      await assert.rejects(
        producer.send([
          { key: 'GOOD', value: price('GOOD') },
          { key: 'X', value },
        ]),
        (error: unknown) => {
          assert.ok(error instanceof ValidationError);
          assert.equal(error.code, code);
          assert.match(error.message, message);
          assert.equal(error.problems[0]?.at, 1, 'names the failing record of the batch');
          return true;
        },
      );
      assert.equal(await endOffsets(t, topic), before, 'nothing was sent');
    });
  }

  test('reports every failing field of a value at once', async (t) => {
    const { producer } = await pricesTopic(t);
    await assert.rejects(
      producer.upsert('X', { instrument: 7, price: 'x', currency: 'EURO', updatedAt: 1, extra: true }),
      (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.deepEqual(error.problems.map((p) => p.path).sort(), ['currency', 'extra', 'instrument', 'price']);
        return true;
      },
    );
  });

  test('rejects an oversized value and an empty or ill-formed key', async (t) => {
    const { topic, producer } = await pricesTopic(t, { maxValueBytes: 64, maxKeyBytes: 16 });
    const before = await endOffsets(t, topic);
    const cases: Array<[string, () => Promise<unknown>, ErrorCode, RegExp]> = [
      [
        'oversized value',
        () => producer.upsert('BIG', price('X'.repeat(100))),
        'HOTSTATE_ERR_VALIDATION_SIZE',
        /encoded value is \d+ bytes, above the 64-byte cap/,
      ],
      ['empty key', () => producer.upsert('', price('X')), 'HOTSTATE_ERR_VALIDATION_KEY', /the key is empty/],
      ['lone surrogate', () => producer.delete('bad\uD800key'), 'HOTSTATE_ERR_VALIDATION_KEY', /not valid UTF-8/],
      [
        'long key',
        () => producer.delete('k'.repeat(17)),
        'HOTSTATE_ERR_VALIDATION_KEY',
        /17 bytes, above the 16-byte cap/,
      ],
    ];
    for (const [name, call, code, message] of cases) {
      await assert.rejects(
        call(),
        (error: unknown) => isHotstateError(error, code) && message.test(error.message),
        name,
      );
    }
    assert.equal(await endOffsets(t, topic), before);
  });

  test('a schema change the registry rejects shows the registry reason', async (t) => {
    const { topic } = await pricesTopic(t);
    const incompatible = {
      type: 'record',
      name: 'InstrumentPrice',
      namespace: 'hotstate.samples.prices',
      fields: [
        { name: 'instrument', type: 'string' },
        { name: 'bid', type: 'double' },
      ],
    };
    await assert.rejects(registerValueSchema(testRegistry(), topic, incompatible), (error: unknown) => {
      assert.ok(isHotstateError(error, 'HOTSTATE_ERR_REGISTRY_REJECTED'));
      assert.match(error.message, /Incompatible artifact.*bid/);
      return true;
    });
  });

  test('counts records, errors, latency and batch sizes on the given registry', async (t) => {
    const metrics = new Registry();
    const { producer, topic } = await pricesTopic(t, { metrics });
    await producer.send([
      { key: 'A', value: price('A') },
      { key: 'B', value: null },
    ]);
    await producer.upsert('C', price('C'));
    await assert.rejects(producer.upsert('D', { ...price('D'), price: 'x' }));
    const text = await metrics.metrics();
    assert.match(text, new RegExp(`hotstate_producer_records_total\\{topic="${topic}",operation="upsert"\\} 2`));
    assert.match(text, new RegExp(`hotstate_producer_records_total\\{topic="${topic}",operation="delete"\\} 1`));
    assert.match(
      text,
      new RegExp(`hotstate_producer_errors_total\\{topic="${topic}",code="HOTSTATE_ERR_VALIDATION_VALUE"\\} 1`),
    );
    assert.match(text, new RegExp(`hotstate_producer_send_duration_seconds_count\\{topic="${topic}"\\} 2`));
    assert.match(text, new RegExp(`hotstate_producer_batch_records_sum\\{topic="${topic}"\\} 3`));
  });

  test('refuses a topic that is not a safe dataset topic, naming each setting', async (t) => {
    const kafka = testKafka(t);
    const topic = `unsafe-${String(Date.now())}`;
    await withAdmin(kafka, (admin) =>
      admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic,
            configEntries: [
              { name: 'cleanup.policy', value: 'compact,delete' },
              { name: 'delete.retention.ms', value: '1000' },
            ],
          },
        ],
      }),
    );
    t.after(async () => {
      await withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [topic] }));
      await deleteSubject(`${topic}-value`);
    });
    await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 2));
    await assert.rejects(
      createProducer({ kafka: testInfra().kafka, registryUrl: testRegistry(), topic }),
      (error: unknown) => {
        assert.ok(isHotstateError(error, 'HOTSTATE_ERR_TOPIC_SETTINGS'));
        assert.match(error.message, /cleanup\.policy=compact,delete/);
        assert.match(error.message, /delete\.retention\.ms=1000/);
        return true;
      },
    );
  });
});
