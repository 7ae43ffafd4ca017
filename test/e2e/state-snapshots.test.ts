// The state service's snapshots as an operator runs them: written every interval and at shutdown, a restart that
// starts from the newest, and a new instance that starts from a running peer's snapshot (operator token required).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { listSnapshots } from '../../services/lib/snapshot/snapshot-dir.ts';
import { registerValueSchema } from '../../services/lib/registry.ts';
import { price, schemaText } from '../helpers/datasets.ts';
import { craftSnapshot } from '../helpers/snapshots.ts';
import { createTestTopic, testKafka, testRegistry } from '../helpers/infra.ts';
import { serviceEnv, startService, waitReady, type RunningService } from '../helpers/services.ts';

const ingestToken = 'snapshot-test-ingest-token-0123';
const operatorToken = 'snapshot-test-operator-token-0123';

interface DatasetStatus {
  name: string;
  ready: boolean;
  keys: number;
  snapshot: { restore?: { outcome: string; file?: string; entries?: number } };
}
const datasetStatus = async (service: RunningService, topic: string): Promise<DatasetStatus> =>
  ((await (await fetch(`${service.url}/v1/datasets`)).json()) as { datasets: DatasetStatus[] }).datasets.find(
    (d) => d.name === topic,
  ) as DatasetStatus;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('state service snapshots: periodic and at shutdown, restart from the newest, a new instance from a peer', async (t) => {
  const topic = await createTestTopic(t, testKafka(t), { partitions: 3 });
  await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 2));
  const dirA = mkdtempSync(join(tmpdir(), 'state-a-'));
  const snapshotEnv = (dir: string, extra: Record<string, string> = {}): Record<string, string> =>
    serviceEnv([topic], {
      HOTSTATE_SNAPSHOT_DIR: dir,
      HOTSTATE_SNAPSHOT_INTERVAL_MS: '1000',
      HOTSTATE_OPERATOR_TOKEN: operatorToken,
      ...extra,
    });
  const [ingest, first] = await Promise.all([
    startService(t, 'ingest', serviceEnv([topic], { HOTSTATE_INGEST_TOKEN: ingestToken })),
    startService(t, 'state', snapshotEnv(dirA)),
  ]);
  await waitReady(first);
  const write = async (key: string, value: number): Promise<string> => {
    const response = await fetch(`${ingest.url}/v1/datasets/${topic}/records/${key}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ingestToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(price(key, value)),
    });
    return ((await response.json()) as { token: string }).token;
  };
  for (let i = 0; i < 100; i++) await write(`K${String(i)}`, i);
  const periodic = await until('a periodic snapshot with all 100 keys', async () => {
    const status = await datasetStatus(first, topic);
    const written = (status.snapshot as { lastWritten?: { entries: number; createdAt: number } }).lastWritten;
    return written && written.entries === 100 ? written : undefined;
  });
  const metrics = await (await fetch(`${first.url}/metrics`)).text();
  assert.match(metrics, new RegExp(`hotstate_view_snapshot_size_bytes\\{topic="${topic}"\\} [1-9]`));
  assert.match(metrics, new RegExp(`hotstate_view_snapshot_write_duration_seconds_count\\{topic="${topic}"\\} [1-9]`));
  assert.ok((await listSnapshots(dirA, topic)).length <= 2, 'HOTSTATE_SNAPSHOT_KEEP (2) files at most');

  // The operator endpoint: refused without the operator token (the ingest token is not it), streamed with it.
  for (const authorization of [undefined, `Bearer ${ingestToken}`]) {
    const refused = await fetch(`${first.url}/v1/datasets/${topic}/snapshot`, {
      headers: authorization ? { authorization } : {},
    });
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'HOTSTATE_ERR_AUTH_REQUIRED');
  }
  const served = await fetch(`${first.url}/v1/datasets/${topic}/snapshot`, {
    headers: { authorization: `Bearer ${operatorToken}` },
  });
  assert.equal(served.status, 200);
  assert.ok(served.headers.get('hotstate-version')?.startsWith('hs1.'));
  assert.equal(
    Buffer.from(await served.arrayBuffer())
      .subarray(0, 8)
      .toString('latin1'),
    'HOTSNAP\n',
  );

  // A new instance with an empty folder starts from the peer's snapshot, then tails what came after it.
  const token = await write('after-snapshot', 1);
  const dirB = mkdtempSync(join(tmpdir(), 'state-b-'));
  const second = await startService(
    t,
    'state',
    snapshotEnv(dirB, { HOTSTATE_SNAPSHOT_PEERS: first.url, HOTSTATE_SNAPSHOT_INTERVAL_MS: '3600000' }),
  );
  await waitReady(second);
  const restored = (await datasetStatus(second, topic)).snapshot.restore;
  assert.equal(restored?.outcome, 'used', JSON.stringify(restored));
  assert.ok((restored.entries ?? 0) >= 100);
  const read = await fetch(`${second.url}/v1/datasets/${topic}/keys/after-snapshot?minVersion=${token}`);
  assert.equal(read.status, 200);
  assert.equal((await datasetStatus(second, topic)).keys, 101);
  assert.match(
    await (await fetch(`${second.url}/metrics`)).text(),
    new RegExp(`hotstate_view_snapshot_restores_total\\{topic="${topic}",outcome="used"\\} 1`),
  );

  // SIGTERM writes a last snapshot; a restart starts from it and holds every key.
  await write('before-shutdown', 2);
  await until('the first instance to hold the last write', async () =>
    (await datasetStatus(first, topic)).keys === 102 ? true : undefined,
  );
  assert.equal(await first.stop('SIGTERM'), 0, first.output.join('\n'));
  const newest = (await listSnapshots(dirA, topic))[0];
  assert.ok(newest && newest.createdAt > periodic.createdAt, 'a snapshot written at shutdown');
  const restarted = await startService(t, 'state', snapshotEnv(dirA));
  await waitReady(restarted);
  const again = (await datasetStatus(restarted, topic)).snapshot.restore;
  assert.deepEqual([again?.outcome, again?.file, again?.entries], ['used', newest.file, 102]);
});

test('a snapshot folder of links, folders, FIFOs, a sparse 64 GiB file and future names: the service replays, stays up and writes its own', async (t) => {
  const topic = await createTestTopic(t, testKafka(t), { partitions: 1 });
  await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 2));
  const dir = mkdtempSync(join(tmpdir(), 'state-hostile-'));
  const name = (createdAt: number): string => join(dir, `${topic}.${String(createdAt)}.snapshot`);
  const now = Date.now();
  symlinkSync(join(dir, 'gone'), name(now - 1000)); // dangling
  mkdirSync(name(now - 2000));
  execFileSync('mkfifo', [name(now - 3000)]);
  symlinkSync(name(now - 3000), name(now - 4000));
  // A valid-looking header in front of a 64 GiB hole (sparse: no disk used).
  craftSnapshot(name(now - 5000), { topic, createdAt: now - 5000, bodyBytes: 64 * 1024 ** 3 });
  for (const createdAt of [9_999_999_999_998, 9_999_999_999_999]) writeFileSync(name(createdAt), 'garbage');
  const state = await startService(
    t,
    'state',
    serviceEnv([topic], {
      HOTSTATE_SNAPSHOT_DIR: dir,
      HOTSTATE_SNAPSHOT_INTERVAL_MS: '1000',
      HOTSTATE_SNAPSHOT_KEEP: '2',
    }),
  );
  await waitReady(state, 30_000);
  const written = await until('a snapshot of its own', async () => {
    const own = await listSnapshots(dir, topic);
    return own.length > 0 ? own : undefined;
  });
  assert.ok(written.every(({ createdAt }) => createdAt <= Date.now()));
  assert.ok(existsSync(name(9_999_999_999_999)), 'foreign files are skipped, not deleted');
  const skippedLines = state.output.filter((line) => line.includes('snapshot folder entry skipped'));
  assert.ok(skippedLines.length >= 6, skippedLines.join('\n'));
  // The same, with reasons, in the dataset's status.
  const listing = (await (await fetch(`${state.url}/v1/datasets`)).json()) as {
    datasets: Array<{ name: string; snapshot: { restore?: { skipped?: Array<{ name: string; reason: string }> } } }>;
  };
  const skipped = listing.datasets.find((d) => d.name === topic)?.snapshot.restore?.skipped ?? [];
  assert.equal(skipped.length, 6, JSON.stringify(skipped)); // the sparse file is the refused candidate: restore.reason
  assert.ok(
    skipped.some((s) => /not a regular file/.test(s.reason)) && skipped.some((s) => /future/.test(s.reason)),
    JSON.stringify(skipped),
  );
  const began = performance.now();
  assert.equal(await state.stop('SIGTERM'), 0);
  assert.ok(performance.now() - began < 10_000, 'SIGTERM is obeyed');
});
