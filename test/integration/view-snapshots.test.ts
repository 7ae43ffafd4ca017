// Snapshots against a real broker: a view restored from a snapshot and tailed holds exactly what a full replay
// holds, with writes and deletes during the snapshot's write and between it and the restart; snapshots that could
// be wrong (too old for delete.retention.ms, another topic, corrupt, unknown format) are refused, with the reason.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { Registry } from 'prom-client';
import { snapshotFileName } from '../../services/lib/snapshot/snapshot-dir.ts';
import { formatVersionToken } from '../../services/lib/version-token.ts';
import { encodeFramed, parseAvroSchema } from '../../services/lib/codec/confluent-avro.ts';
import { registerValueSchema } from '../../services/lib/registry.ts';
import { price, pricesTopic, schemaText } from '../helpers/datasets.ts';
import { createTestTopic, testKafka, testRegistry, testTransport } from '../helpers/infra.ts';
import { rawSend } from '../helpers/raw.ts';
import { testView, viewDigest } from '../helpers/views.ts';
import { hotstate } from '../helpers/cli.ts';
import type { HotstateProducer } from '../../services/lib/producer/producer.ts';

const snapshotDir = (): string => mkdtempSync(join(tmpdir(), 'hotstate-snapshots-'));

async function endToken(t: TestContext, topic: string): Promise<string> {
  const offsets = await testTransport(t).offsets(topic);
  return formatVersionToken({ topic, positions: new Map(offsets.map((p) => [p.partition, p.end])) });
}

/** Upserts and deletes over a key space until stopped. */
function churn(producer: HotstateProducer, keys: number): { stop: () => Promise<number> } {
  const state = { running: true };
  let writes = 0;
  const loop = (async () => {
    while (state.running) {
      const batch = Array.from({ length: 50 }, (_, i) => {
        const key = `K${String(Math.floor(Math.random() * keys))}`;
        return (writes + i) % 4 === 0 ? { key, value: null } : { key, value: price(key, writes + i) };
      });
      await producer.send(batch);
      writes += batch.length;
    }
  })();
  return {
    stop: async () => {
      state.running = false;
      await loop;
      return writes;
    },
  };
}

describe('view snapshots', () => {
  test('restored and tailed equals a full replay, with writes and deletes during the write and after it', async (t) => {
    const { topic, producer } = await pricesTopic(t);
    await producer.send(
      Array.from({ length: 3000 }, (_, i) => ({ key: `K${String(i)}`, value: price(`K${String(i)}`, i) })),
    );
    const dir = snapshotDir();
    const first = await testView(t, topic);
    await first.ready;
    const during = churn(producer, 4000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const written = await first.writeSnapshot(join(dir, snapshotFileName(topic, Date.now())));
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.diagnostic(
      `snapshot: ${String(written.header.entries)} entries, ${String(written.bytes)} bytes in ${written.seconds.toFixed(2)} s; ${String(await during.stop())} writes meanwhile and after`,
    );
    await producer.delete('K1');

    const metrics = new Registry();
    const restored = await testView(t, topic, { snapshot: { dir }, metrics });
    const replayed = await testView(t, topic);
    const token = await endToken(t, topic);
    await Promise.all([restored.waitFor(token, 30_000), replayed.waitFor(token, 30_000)]);
    const { restore } = restored.status().snapshot;
    assert.equal(restore?.outcome, 'used', JSON.stringify(restore));
    assert.equal(restore.entries, written.header.entries);
    assert.equal(restored.has('K1'), false, 'a delete after the snapshot is applied');
    assert.equal(viewDigest(restored), viewDigest(replayed));
    assert.match(await metrics.metrics(), /hotstate_view_snapshot_restores_total\{topic="[^"]+",outcome="used"\} 1/);
  });

  test("a snapshot older than the topic's delete.retention.ms allows is refused: full replay, no deleted key back", async (t) => {
    const topic = await createTestTopic(t, testKafka(t), {
      partitions: 3,
      configs: { 'delete.retention.ms': '3000' },
      minDeleteRetentionMs: 0,
    });
    // The producer refuses a topic this unsafe, so raw writes.
    const id = await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 2));
    const prices = parseAvroSchema(schemaText('instrument-prices', 2));
    await rawSend(t, topic, [
      { key: 'keep', value: encodeFramed(prices, id, price('keep')) },
      { key: 'gone', value: encodeFramed(prices, id, price('gone')) },
    ]);
    const dir = snapshotDir();
    const first = await testView(t, topic);
    await first.ready;
    await first.writeSnapshot(join(dir, snapshotFileName(topic, Date.now())));
    await rawSend(t, topic, [{ key: 'gone', value: null }]);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // older than 90% of delete.retention.ms
    const metrics = new Registry();
    const later = await testView(t, topic, { snapshot: { dir }, metrics });
    await later.ready;
    const { restore } = later.status().snapshot;
    assert.equal(restore?.outcome, 'too-old');
    assert.match(
      restore.reason ?? '',
      /more than 90% of delete\.retention\.ms=3000: tombstones written after it may have been purged/,
    );
    assert.deepEqual([later.has('keep'), later.has('gone')], [true, false]);
    assert.match(await metrics.metrics(), /hotstate_view_snapshot_restores_total\{topic="[^"]+",outcome="too-old"\} 1/);
  });

  test('corrupt, truncated, unknown-format and foreign-topic snapshots are refused with their reason; the view replays', async (t) => {
    const { topic, producer } = await pricesTopic(t);
    await producer.send(
      Array.from({ length: 200 }, (_, i) => ({ key: `K${String(i)}`, value: price(`K${String(i)}`, i) })),
    );
    const source = snapshotDir();
    const view = await testView(t, topic);
    await view.ready;
    const { file, header } = await view.writeSnapshot(source);
    const bytes = readFileSync(file);
    const other = await pricesTopic(t);
    await other.producer.upsert('X', price('X'));
    const cases: Array<{ name: string; topic: string; content: Buffer; outcome: string; reason: RegExp }> = [
      {
        name: 'a flipped body byte',
        topic,
        content: Buffer.from(bytes.map((b, i) => (i === 100 ? b ^ 0xff : b))),
        outcome: 'corrupt',
        reason: /body checksum mismatch|out of bounds|not part of the version/,
      },
      {
        name: 'truncated',
        topic,
        content: bytes.subarray(0, Math.floor(bytes.length / 2)),
        outcome: 'corrupt',
        reason: /header offset|truncated|checksum/,
      },
      {
        name: 'a future format',
        topic,
        content: Buffer.concat([bytes.subarray(0, 8), Buffer.from([0, 2]), bytes.subarray(10)]),
        outcome: 'unknown-format',
        reason: /format version 2 is unknown/,
      },
      {
        name: "another topic's",
        topic: other.topic,
        content: bytes,
        outcome: 'topic-changed',
        reason: new RegExp(`it holds topic ${topic}, not ${other.topic}`),
      },
    ];
    for (const c of cases) {
      const dir = snapshotDir();
      writeFileSync(join(dir, snapshotFileName(c.topic, header.createdAt)), c.content);
      const restarted = await testView(t, c.topic, { snapshot: { dir } });
      await restarted.ready;
      const { restore } = restarted.status().snapshot;
      assert.equal(restore?.outcome, c.outcome, c.name);
      assert.match(restore.reason ?? '', c.reason, c.name);
      assert.equal(restarted.size, c.topic === topic ? 200 : 1, `${c.name}: replayed in full`);
    }
  });

  test('CLI: snapshot save writes a file a view starts from; inspect prints the header and verdict; damage exits 1', async (t) => {
    const { topic, producer } = await pricesTopic(t);
    await producer.send(
      Array.from({ length: 50 }, (_, i) => ({ key: `K${String(i)}`, value: price(`K${String(i)}`, i) })),
    );
    const dir = snapshotDir();
    const file = join(dir, snapshotFileName(topic, Date.now()));
    const saved = hotstate(['snapshot', 'save', '-t', topic, '-o', file]);
    assert.equal(saved.code, 0, saved.stderr);
    assert.match(
      saved.stdout,
      new RegExp(`^wrote ${file}: 50 keys of ${topic}, \\d+ bytes in [\\d.]+ s, version hs1\\.`),
    );
    const inspected = hotstate(['snapshot', 'inspect', file]);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.match(inspected.stdout, /format: +1 \(checksums and every length verified\)/);
    assert.match(inspected.stdout, new RegExp(`topic: +${topic} \\(id \\S+, 3 partitions\\)`));
    assert.match(inspected.stdout, /keys: +50 /);
    assert.match(inspected.stdout, /verdict: +usable/);
    const view = await testView(t, topic, { snapshot: { dir } });
    await view.ready;
    assert.deepEqual([view.status().snapshot.restore?.outcome, view.size], ['used', 50]);

    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 1));
    const damaged = hotstate(['snapshot', 'inspect', file]);
    assert.equal(damaged.code, 1);
    assert.match(damaged.stderr, /HOTSTATE_ERR_SNAPSHOT_UNUSABLE: snapshot .*: (header offset|header checksum)/);
  });
});
