// Loading a snapshot on a worker thread (base-loader.ts): the index that comes back answers like one built here,
// refusals come back as the same errors, and a preload is used once, for the file it loaded, or dropped.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  dropPreloads,
  loadSnapshotBase,
  preloadedFile,
  preloadSnapshot,
} from '../../services/lib/snapshot/base-loader.ts';
import { SnapshotFileError, writeSnapshotFile } from '../../services/lib/snapshot/format.ts';
import { snapshotFileName } from '../../services/lib/snapshot/snapshot-dir.ts';
import { entryValueBytes, packEntry } from '../../services/lib/store/entry.ts';
import { SnapshotStore } from '../../services/lib/store/store.ts';

const value = (text: string): Buffer => Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), Buffer.from(text)]);
const text = (entry: string | undefined): string | undefined =>
  entry === undefined ? undefined : entryValueBytes(entry).subarray(5).toString();
const positions = new Map([
  [0, 5000],
  [1, 5000],
]);

async function snapshotOf(dir: string, createdAt: number, keys: readonly string[]): Promise<string> {
  const file = join(dir, snapshotFileName('t', createdAt));
  const entries = keys.map((key, i): [string, string] => [
    key,
    packEntry(i % 2, Math.floor(i / 2), createdAt, value(`${key}@${String(createdAt)}`)),
  ]);
  await writeSnapshotFile(file, { topic: 't', topicId: 'id', positions, createdAt }, entries[Symbol.iterator]());
  return file;
}

const contents = async (load: ReturnType<typeof loadSnapshotBase>): Promise<Map<string, string>> => {
  const store = new SnapshotStore();
  store.loadBase((await load).base);
  return new Map([...store.entries()].map(([key, entry]) => [key, entry]));
};

const keys = [...Array.from({ length: 3000 }, (_, i) => `key-${String(i)}`), 'ключ', '日本-🔑'];

test('an index loaded on a worker thread finds every key, with the entry written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loader-'));
  const file = await snapshotOf(dir, 1, keys);
  const store = new SnapshotStore();
  store.loadBase((await loadSnapshotBase(dir, 't', file)).base);
  assert.equal(store.size, keys.length);
  for (const key of keys) assert.equal(text(store.get(key)), `${key}@1`, key);
  assert.equal(store.get('key-3000'), undefined);
  store.apply('key-7', 0, 999, 0, value('changed')); // the moved arrays are writable here
  assert.equal(text(store.get('key-7')), 'changed');
});

test('a refusal on the worker thread is the same SnapshotFileError; other failures keep their code', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loader-'));
  const file = await snapshotOf(dir, 1, keys);
  const bytes = readFileSync(file);
  bytes[100] = (bytes[100] ?? 0) ^ 1;
  writeFileSync(file, bytes);
  await assert.rejects(loadSnapshotBase(dir, 't', file), (error: unknown) => {
    assert.ok(error instanceof SnapshotFileError);
    assert.equal(error.problem, 'corrupt');
    assert.equal(error.code, 'HOTSTATE_ERR_SNAPSHOT_UNUSABLE');
    assert.equal(error.message, `snapshot ${file}: body checksum mismatch`);
    return true;
  });
  bytes.writeUInt16BE(7, 8);
  writeFileSync(file, bytes);
  await assert.rejects(
    loadSnapshotBase(dir, 't', file),
    (error: unknown) => error instanceof SnapshotFileError && error.problem === 'format',
  );
  // A file gone since it was listed is refused like a broken one (a restore then tries an older file).
  await assert.rejects(
    loadSnapshotBase(dir, 't', join(dir, 'gone.snapshot')),
    (error: unknown) => error instanceof SnapshotFileError && /cannot be opened: ENOENT/.test(error.message),
  );
});

test('a preload is of the newest file, taken once, and not used for another file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loader-'));
  const older = await snapshotOf(dir, 1, keys);
  const newest = await snapshotOf(dir, 2, keys.slice(0, 10));
  preloadSnapshot(dir, 't');
  assert.equal(preloadedFile(dir, 't'), newest);
  preloadSnapshot(dir, 't'); // a second call (the view's own, when it starts) keeps the first load
  assert.deepEqual([...(await contents(loadSnapshotBase(dir, 't', newest))).keys()], keys.slice(0, 10));
  assert.equal(preloadedFile(dir, 't'), undefined, 'taken');

  preloadSnapshot(dir, 't');
  const restored = await contents(loadSnapshotBase(dir, 't', older)); // the newest was refused: an older one loads
  assert.equal(restored.size, keys.length);
  assert.equal(text(restored.get('key-0')), 'key-0@1');
  assert.equal(preloadedFile(dir, 't'), undefined, 'dropped');

  preloadSnapshot(dir, 't');
  dropPreloads(dir, 'other');
  assert.equal(preloadedFile(dir, 't'), newest);
  dropPreloads();
  assert.equal(preloadedFile(dir, 't'), undefined);
  preloadSnapshot(join(dir, 'missing'), 't');
  assert.equal(preloadedFile(join(dir, 'missing'), 't'), undefined, 'nothing to preload');
});
