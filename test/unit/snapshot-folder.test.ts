// A snapshot folder an operator (or an attacker) filled with things that are not snapshots: links, folders, FIFOs,
// a sparse file claiming a 64 GiB body, names and creation times in the future. Each is skipped or refused with its
// reason, quickly — never a crash, a hang or an allocation the machine cannot make.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readSnapshotHeader, SnapshotFileError } from '../../services/lib/snapshot/format.ts';
import { readSnapshotBase } from '../../services/lib/snapshot/read-in-place.ts';
import { listSnapshots, pruneSnapshots, skippedSnapshotEntries } from '../../services/lib/snapshot/snapshot-dir.ts';
import { craftSnapshot } from '../helpers/snapshots.ts';

const refusedWith = (pattern: RegExp) => (error: unknown) =>
  error instanceof SnapshotFileError && pattern.test(error.message);

test('links, folders and FIFOs in a snapshot folder are skipped with the reason, and refused if opened', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotstate-snapshot-folder-'));
  writeFileSync(join(dir, 'prices.1000.snapshot'), 'x');
  symlinkSync(join(dir, 'gone'), join(dir, 'prices.5000.snapshot')); // dangling
  mkdirSync(join(dir, 'prices.6000.snapshot'));
  execFileSync('mkfifo', [join(dir, 'prices.7000.snapshot')]);
  symlinkSync(join(dir, 'prices.7000.snapshot'), join(dir, 'prices.8000.snapshot')); // a link to the FIFO
  writeFileSync(join(dir, 'prices.9999999999999.snapshot'), 'x'); // named in the far future
  assert.deepEqual(
    (await listSnapshots(dir, 'prices')).map((s) => s.file),
    [join(dir, 'prices.1000.snapshot')],
  );
  const skipped = await skippedSnapshotEntries(dir, 'prices');
  assert.deepEqual(skipped.map((s) => s.name).sort(), [
    'prices.5000.snapshot',
    'prices.6000.snapshot',
    'prices.7000.snapshot',
    'prices.8000.snapshot',
    'prices.9999999999999.snapshot',
  ]);
  assert.ok(
    skipped.every((s) => /not a regular file|in this machine's future/.test(s.reason)),
    JSON.stringify(skipped),
  );
  // Opened anyway (a name passed directly): refused at once, the FIFO without waiting for a writer.
  for (const [name, why] of [
    ['prices.5000.snapshot', /symbolic link/],
    ['prices.6000.snapshot', /not a regular file/],
    ['prices.7000.snapshot', /not a regular file/],
    ['prices.8000.snapshot', /symbolic link/],
  ] as const) {
    const began = performance.now();
    await assert.rejects(readSnapshotHeader(join(dir, name)), refusedWith(why), name);
    await assert.rejects(readSnapshotBase(join(dir, name)), refusedWith(why), name);
    assert.ok(performance.now() - began < 1000, `${name} answered at once`);
  }
});

test('a sparse file claiming a 64 GiB body is refused before anything is allocated', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotstate-snapshot-folder-'));
  const file = join(dir, 'prices.1000.snapshot');
  craftSnapshot(file, { topic: 'prices', createdAt: 1000, bodyBytes: 64 * 1024 ** 3 });
  assert.equal((await readSnapshotHeader(file)).header.bodyBytes, 64 * 1024 ** 3, 'the header itself is valid');
  await assert.rejects(readSnapshotBase(file), refusedWith(/more than this machine can hold in memory/));
});

test('a creation time in the future is not trusted; future names never push real snapshots out of pruning', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotstate-snapshot-folder-'));
  const skewed = join(dir, 'prices.1000.snapshot');
  craftSnapshot(skewed, { topic: 'prices', createdAt: Date.now() + 365 * 86_400_000, bodyBytes: 0 });
  await assert.rejects(readSnapshotHeader(skewed), refusedWith(/in this machine's future/));

  for (const name of ['prices.2000.snapshot', 'prices.3000.snapshot', 'prices.4000.snapshot'])
    writeFileSync(join(dir, name), 'x');
  for (const name of ['prices.9999999999998.snapshot', 'prices.9999999999999.snapshot'])
    writeFileSync(join(dir, name), 'garbage');
  await pruneSnapshots(dir, 'prices', 2);
  assert.deepEqual(readdirSync(dir).sort(), [
    'prices.3000.snapshot',
    'prices.4000.snapshot',
    'prices.9999999999998.snapshot',
    'prices.9999999999999.snapshot',
  ]);
});
