// Snapshots by any name: a write goes where a restore will find it or is refused; a restore names what it skips.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isHotstateError } from '../../services/lib/errors.ts';
import { skippedSnapshotEntries, snapshotTarget } from '../../services/lib/snapshot/snapshot-dir.ts';

test('a folder gets the name a restore reads; such a name is kept; any other name is refused, naming the rule', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotstate-snapshot-names-'));
  assert.equal(snapshotTarget(dir, 'prices', 1234), join(dir, 'prices.1234.snapshot'));
  assert.equal(snapshotTarget(join(dir, 'prices.99.snapshot'), 'prices', 1234), join(dir, 'prices.99.snapshot'));
  for (const name of ['my.snapshot', 'prices.snapshot', 'other.99.snapshot', 'prices.99.snap']) {
    assert.throws(
      () => snapshotTarget(join(dir, name), 'prices', 1234),
      (error: unknown) =>
        isHotstateError(error, 'HOTSTATE_ERR_CONFIG_INVALID') && /<topic>\.<created ms>\.snapshot/.test(error.message),
      name,
    );
  }
});

test("a restore folder: .snapshot files no restore reads are listed (to warn about), other topics' files are not", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotstate-snapshot-names-'));
  for (const name of ['prices.1.snapshot', 'flags.2.snapshot', 'my.snapshot', 'notes.txt'])
    writeFileSync(join(dir, name), 'x');
  assert.deepEqual(
    (await skippedSnapshotEntries(dir, 'prices')).map((s) => s.name),
    ['my.snapshot'],
  );
  assert.deepEqual(await skippedSnapshotEntries(join(dir, 'missing'), 'prices'), []);
});
