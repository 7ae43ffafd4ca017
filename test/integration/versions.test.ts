// Versions an operator can work with, against a real broker and registry: diff of two versions, rollback after a
// bad batch (deletes and new keys included), a rollback of the rollback, the mass-delete guard, refusal beyond the
// rollback window unless a snapshot file covers the version, a rollback through a schema evolution, and versions of a
// deleted and recreated topic refused.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadDatasetVersion, parseVersionRef, readTopicNow } from '../../services/lib/history/dataset-version.ts';
import { contentDigest } from '../../services/lib/history/diff.ts';
import { createProducer } from '../../services/lib/producer/producer.ts';
import { registerValueSchema, registryRequest, valueSubject } from '../../services/lib/registry.ts';
import { registrySchemaSource, WriterSchemas } from '../../services/lib/core/writer-schemas.ts';
import { isHotstateError } from '../../services/lib/errors.ts';
import { ensureDatasetTopic } from '../../services/lib/kafka/topics.ts';
import { formatVersionToken, parseVersionToken } from '../../services/lib/version-token.ts';
import { hotstate } from '../helpers/cli.ts';
import { withAdmin } from '../helpers/kafkajs-client.ts';
import { price, pricesTopic, schemaText } from '../helpers/datasets.ts';
import { createTestTopic, testInfra, testKafka, testRegistry, testTransport } from '../helpers/infra.ts';
import { testView } from '../helpers/views.ts';

/** The content digest of the dataset at a version (token, snapshot file or `now`), read from the topic. */
async function digestAt(t: TestContext, topic: string, ref: string): Promise<string> {
  const transport = testTransport(t);
  const schemas = new WriterSchemas(registrySchemaSource(testRegistry()), valueSubject(topic));
  return contentDigest(
    await loadDatasetVersion(transport, schemas, topic, parseVersionRef(ref), await readTopicNow(transport, topic)),
  );
}

const ndjson = (text: string): Array<Record<string, unknown>> =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
const keysOf = (lines: Array<Record<string, unknown>>, op: string): string[] =>
  lines.filter((l) => l.op === op).map((l) => String(l.key));

describe('versions: diff and rollback', () => {
  test('diff names exactly what a bad batch did; rollback restores the target content; a rollback of it restores the batch', async (t) => {
    const { topic, producer } = await pricesTopic(t);
    await producer.send(
      Array.from({ length: 20 }, (_, i) => ({
        key: `K${String(i).padStart(2, '0')}`,
        value: price(`K${String(i)}`, i),
      })),
    );
    const view = await testView(t, topic);
    await view.ready;
    const good = view.token;

    // The bad batch: changes, deletes and new keys.
    await producer.send([
      ...['K00', 'K01', 'K02', 'K03', 'K04'].map((key) => ({ key, value: price(key, 999) })),
      ...['K10', 'K11', 'K12'].map((key) => ({ key, value: null })),
      ...['N1', 'N2', 'N3', 'N4'].map((key) => ({ key, value: price(key, 1) })),
    ]);
    await producer.upsert('K01', price('K01', 1000)); // a key changed twice counts once
    const diff = hotstate(['diff', '-t', topic, '--from', good]);
    assert.equal(diff.code, 0, diff.stderr);
    const lines = ndjson(diff.stdout);
    assert.deepEqual(keysOf(lines, 'changed'), ['K00', 'K01', 'K02', 'K03', 'K04']);
    assert.deepEqual(keysOf(lines, 'removed'), ['K10', 'K11', 'K12']);
    assert.deepEqual(keysOf(lines, 'added'), ['N1', 'N2', 'N3', 'N4']);
    assert.deepEqual(
      lines.find((l) => l.key === 'K01'),
      { op: 'changed', key: 'K01', previous: price('K1', 1), value: price('K01', 1000) },
    );
    assert.match(diff.stderr, /4 added, 5 changed, 3 removed, 12 unchanged/);
    const between = hotstate(['diff', '-t', topic, '--from', good, '--to', good]);
    assert.equal(between.code, 0, 'from and to the same version');
    assert.equal(between.stdout, '');

    // A plan first: without --yes nothing is written (exit 5); --dry-run is a plain plan (exit 0).
    const endsBefore = (await readTopicNow(testTransport(t), topic)).offsets.map((p) => p.end);
    const unconfirmed = hotstate(['rollback', '-t', topic, '--to', good]);
    assert.equal(unconfirmed.code, 5, unconfirmed.stderr);
    assert.match(
      unconfirmed.stdout,
      /3 restored \(deleted since\), 5 reverted \(changed since\), 4 deleted \(created since\), 12 unchanged/,
    );
    assert.match(unconfirmed.stderr, /nothing written: run again with --yes to write 12 records/);
    assert.equal(hotstate(['rollback', '-t', topic, '--to', good, '--dry-run']).code, 0);
    assert.deepEqual(
      (await readTopicNow(testTransport(t), topic)).offsets.map((p) => p.end),
      endsBefore,
      'nothing was written',
    );

    const done = hotstate(['rollback', '-t', topic, '--to', good, '--yes', '--json']);
    assert.equal(done.code, 0, done.stderr);
    const outcome = JSON.parse(done.stdout) as {
      status: string;
      token: string;
      records: number;
      plan: { targetDigest: string; from: string };
    };
    assert.deepEqual([outcome.status, outcome.records], ['rolled-back', 12]);
    const targetDigest = await digestAt(t, topic, good);
    assert.equal(outcome.plan.targetDigest, targetDigest);
    assert.equal(
      await digestAt(t, topic, outcome.token),
      targetDigest,
      'the state after the rollback has the target content',
    );
    await view.waitFor(outcome.token);
    assert.deepEqual(
      [view.get<{ price: number }>('K01')?.value.price, view.has('K10'), view.has('N1'), view.size],
      [1, true, false, 20],
    );
    const history = ndjson(hotstate(['history', '-t', topic, 'K10']).stdout);
    const restore = history.at(-1) as { operation: string; headers: Record<string, string> };
    assert.deepEqual(
      [
        restore.operation,
        restore.headers['hotstate-source'],
        restore.headers['hotstate-rollback-to'],
        restore.headers['hotstate-rollback-from'],
      ],
      ['upsert', 'rollback', good, outcome.plan.from],
    );

    // Rolling back the rollback brings the bad batch back, exactly.
    const again = hotstate(['rollback', '-t', topic, '--to', outcome.plan.from, '--yes', '--json']);
    assert.equal(again.code, 0, again.stderr);
    const back = JSON.parse(again.stdout) as { token: string };
    assert.equal(await digestAt(t, topic, back.token), await digestAt(t, topic, outcome.plan.from));
    const noop = hotstate(['rollback', '-t', topic, '--to', outcome.plan.from, '--yes', '--json']);
    assert.equal((JSON.parse(noop.stdout) as { status: string }).status, 'unchanged');
  });

  test('the mass-delete guard holds back a rollback deleting most keys unless allowed', async (t) => {
    const { topic, producer } = await pricesTopic(t);
    await producer.send([
      { key: 'A', value: price('A') },
      { key: 'B', value: price('B') },
    ]);
    const view = await testView(t, topic);
    await view.ready;
    const early = view.token;
    await producer.send(
      Array.from({ length: 10 }, (_, i) => ({ key: `M${String(i)}`, value: price(`M${String(i)}`) })),
    );
    const held = hotstate(['rollback', '-t', topic, '--to', early, '--yes']);
    assert.equal(held.code, 5);
    assert.match(held.stdout, /held back this rollback would delete 10 of 12 keys \(83% > 50%\)/);
    const allowed = hotstate(['rollback', '-t', topic, '--to', early, '--yes', '--allow-mass-delete', '--json']);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(
      await digestAt(t, topic, (JSON.parse(allowed.stdout) as { token: string }).token),
      await digestAt(t, topic, early),
    );
  });

  test('beyond the rollback window a version is refused, naming why; a snapshot file of it still serves', async (t) => {
    const { topic, producer } = await pricesTopic(t, {}, 2, { 'min.compaction.lag.ms': '1000' });
    await producer.send([
      { key: 'A', value: price('A', 1) },
      { key: 'B', value: price('B', 1) },
      { key: 'C', value: price('C', 1) },
    ]);
    const view = await testView(t, topic);
    await view.ready;
    const old = view.token;
    const { file } = await view.writeSnapshot(mkdtempSync(join(tmpdir(), 'hotstate-versions-')));
    const after = await producer.send([
      { key: 'A', value: price('A', 2) },
      { key: 'B', value: null },
      { key: 'D', value: price('D', 1) },
    ]);
    // The window is 1 s (less a 10% margin): wait until the records after the version are older than that.
    const newestWrite = Date.now();
    while (Date.now() - newestWrite < 1200) await sleep(100);
    const refused = hotstate(['diff', '-t', topic, '--from', old]);
    assert.equal(refused.code, 7, refused.stderr);
    assert.match(refused.stderr, /HOTSTATE_ERR_VERSION_UNREACHABLE: version hs1\.\S+ cannot be rebuilt exactly/);
    assert.match(refused.stderr, /longer ago than the rollback window \(min\.compaction\.lag\.ms=1000/);
    assert.equal(hotstate(['rollback', '-t', topic, '--to', old, '--yes']).code, 7);

    const fromFile = hotstate(['diff', '-t', topic, '--from', file]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    const lines = ndjson(fromFile.stdout);
    assert.deepEqual(
      [keysOf(lines, 'changed'), keysOf(lines, 'removed'), keysOf(lines, 'added')],
      [['A'], ['B'], ['D']],
    );
    const rolled = hotstate(['rollback', '-t', topic, '--to', file, '--yes', '--json']);
    assert.equal(rolled.code, 0, rolled.stderr);
    const outcome = JSON.parse(rolled.stdout) as { token: string; plan: { targetDigest: string } };
    assert.equal(await digestAt(t, topic, outcome.token), outcome.plan.targetDigest);
    assert.equal(await digestAt(t, topic, file), outcome.plan.targetDigest);

    // Tokens that are not versions of this topic say so.
    const partial = hotstate(['diff', '-t', topic, '--from', after.results[0]?.token ?? '']);
    assert.match(partial.stderr, /names no position for partition|names every partition/);
    assert.equal(hotstate(['diff', '-t', topic, '--from', 'hs1.bad!']).code, 2);
  });

  test('a rollback through a schema evolution: old values are checked against the current schema and restored byte for byte', async (t) => {
    const kafka = testKafka(t);
    const topic = await createTestTopic(t, kafka, { partitions: 1 });
    await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 1));
    const v1 = await createProducer({ kafka: testInfra().kafka, registryUrl: testRegistry(), topic });
    t.after(() => v1.close());
    await v1.send([
      { key: 'X', value: { instrument: 'X', price: 1, currency: 'EUR', updatedAt: 1 } },
      { key: 'Y', value: { instrument: 'Y', price: 2, currency: 'EUR', updatedAt: 1 } },
    ]);
    const view = await testView(t, topic);
    await view.ready;
    const beforeEvolution = view.token;
    await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 2));
    const v2 = await createProducer({ kafka: testInfra().kafka, registryUrl: testRegistry(), topic });
    t.after(() => v2.close());
    assert.notEqual(v2.schemaId, v1.schemaId);
    await v2.send([
      { key: 'X', value: price('X', 50) },
      { key: 'Y', value: null },
      { key: 'Z', value: price('Z', 3) },
    ]);

    const rolled = hotstate(['rollback', '-t', topic, '--to', beforeEvolution, '--yes', '--json']);
    assert.equal(rolled.code, 0, rolled.stderr);
    const outcome = JSON.parse(rolled.stdout) as { token: string };
    assert.equal(await digestAt(t, topic, outcome.token), await digestAt(t, topic, beforeEvolution));
    await view.waitFor(outcome.token);
    assert.deepEqual(
      [view.get('X')?.schemaId, view.has('Z')],
      [v1.schemaId, false],
      'the old bytes, under their own writer schema',
    );
  });
});

test('a rollback across an incompatible schema change is refused before anything is written, naming the keys', async (t) => {
  const kafka = testKafka(t);
  const topic = await createTestTopic(t, kafka, { partitions: 1 });
  const subject = valueSubject(topic);
  const schema = (nType: string): string =>
    JSON.stringify({ type: 'record', name: 'Counter', fields: [{ name: 'n', type: nType }] });
  await registryRequest(testRegistry(), `/config/${subject}`, 'turning compatibility checks off', {
    method: 'PUT',
    body: JSON.stringify({ compatibility: 'NONE' }),
  });
  await registerValueSchema(testRegistry(), topic, schema('int'));
  const before = await createProducer({ kafka: testInfra().kafka, registryUrl: testRegistry(), topic });
  t.after(() => before.close());
  await before.send([
    { key: 'A', value: { n: 1 } },
    { key: 'B', value: { n: 2 } },
  ]);
  const view = await testView(t, topic);
  await view.ready;
  const old = view.token;
  await registerValueSchema(testRegistry(), topic, schema('string')); // an int cannot be read as a string
  const after = await createProducer({ kafka: testInfra().kafka, registryUrl: testRegistry(), topic });
  t.after(() => after.close());
  await after.send([
    { key: 'A', value: { n: 'one' } },
    { key: 'B', value: null },
  ]);
  const ends = (await readTopicNow(testTransport(t), topic)).offsets.map((p) => p.end);

  const refused = hotstate(['rollback', '-t', topic, '--to', old, '--yes']);
  assert.equal(refused.code, 3, refused.stderr);
  assert.match(refused.stderr, /HOTSTATE_ERR_VALIDATION_VALUE: rollback of \S+ rejected, nothing was sent/);
  assert.match(
    refused.stderr,
    /key "A": its value at the target \(writer schema \d+\) cannot be read with the current schema \d+/,
  );
  assert.match(refused.stderr, /key "B"/);
  assert.deepEqual(
    (await readTopicNow(testTransport(t), topic)).offsets.map((p) => p.end),
    ends,
    'nothing was written',
  );
});

test('versions know their topic: after the topic is deleted and recreated, its old versions are refused, never rolled back to', async (t) => {
  const { topic, producer } = await pricesTopic(t);
  await producer.send(
    Array.from({ length: 30 }, (_, i) => ({ key: `OLD${String(i)}`, value: price(`OLD${String(i)}`) })),
  );
  const oldView = await testView(t, topic);
  await oldView.ready;
  const old = oldView.token;
  assert.ok(parseVersionToken(old).topicId, 'a view version names its incarnation');
  await oldView.close();
  await producer.close();

  // Delete and recreate it (same name, same partitions), then write 90 other keys.
  const kafka = testKafka(t);
  await withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [topic] }));
  const transport = testTransport(t);
  for (;;) {
    try {
      await ensureDatasetTopic(transport, { topic, partitions: 3 });
      break;
    } catch {
      await sleep(200); // still being deleted
    }
  }
  const again = await createProducer({ kafka: testInfra().kafka, registryUrl: testInfra().registry, topic });
  t.after(() => again.close());
  await again.send(Array.from({ length: 90 }, (_, i) => ({ key: `NEW${String(i)}`, value: price(`NEW${String(i)}`) })));
  const view = await testView(t, topic);
  await view.ready;
  const endsBefore = await transport.offsets(topic);

  const rollback = hotstate(['rollback', '-t', topic, '--to', old, '--yes', '--allow-mass-delete']);
  assert.equal(rollback.code, 7, rollback.stderr);
  assert.match(rollback.stderr, /HOTSTATE_ERR_VERSION_UNREACHABLE: .*earlier incarnation of .*topic id/);
  const diff = hotstate(['diff', '-t', topic, '--from', old]);
  assert.equal(diff.code, 7, diff.stderr);
  assert.match(diff.stderr, /earlier incarnation/);
  await assert.rejects(view.waitFor(old, 1000), (e) => isHotstateError(e, 'HOTSTATE_ERR_VERSION_UNREACHABLE'));

  // A token without a topic id (the format before it) is read for a diff, but not rolled back to.
  const { topic: name, positions } = parseVersionToken(view.token);
  const anonymous = formatVersionToken({ topic: name, positions });
  assert.equal(hotstate(['diff', '-t', topic, '--from', anonymous]).code, 0);
  const refused = hotstate(['rollback', '-t', topic, '--to', anonymous, '--yes']);
  assert.equal(refused.code, 7, refused.stderr);
  assert.match(refused.stderr, /carries no topic id/);
  assert.deepEqual(await transport.offsets(topic), endsBefore, 'nothing was written');
  assert.equal(view.size, 90);
});
