// A store restored from a snapshot file keeps its entries in place (BaseIndex) until the view changes them: it must
// answer exactly like a store that applied the same records, through overwrites, deletes, re-adds and snapshots.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeSnapshotFile } from '../../services/lib/snapshot/format.ts';
import { readSnapshotBase } from '../../services/lib/snapshot/read-in-place.ts';
import { entryValueBytes } from '../../services/lib/store/entry.ts';
import { SnapshotStore } from '../../services/lib/store/store.ts';

const value = (text: string): Buffer => Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), Buffer.from(text)]);
const text = (entry: string | undefined): string | undefined =>
  entry === undefined ? undefined : entryValueBytes(entry).subarray(5).toString();
// Shared prefixes, a numeric tail, non-ASCII keys (the slow path of the index), and enough keys for collisions.
const keys = [
  ...Array.from({ length: 5000 }, (_, i) => `instrument-${String(i).padStart(7, '0')}`),
  'ключ',
  '日本-🔑',
  'naïve',
  'é',
];

/** The same records applied to a plain store, and a store restored from a snapshot of it (both at `positions`). */
async function twins(): Promise<{ plain: SnapshotStore; restored: SnapshotStore; positions: Map<number, number> }> {
  const plain = new SnapshotStore();
  keys.forEach((key, i) => plain.apply(key, i % 3, Math.floor(i / 3), 1000 + i, value(`${key}@0`)));
  const positions = new Map([
    [0, 2000],
    [1, 2000],
    [2, 2000],
  ]);
  const file = join(mkdtempSync(join(tmpdir(), 'store-base-')), 't.snapshot');
  await writeSnapshotFile(file, { topic: 't', topicId: 'id', positions, createdAt: Date.now() }, plain.entries());
  const restored = new SnapshotStore();
  restored.loadBase((await readSnapshotBase(file)).base);
  return { plain, restored, positions };
}

const contents = (store: SnapshotStore): Map<string, string | undefined> =>
  new Map([...store.entries()].map(([k, e]) => [k, text(e)]));

test('a restored store reads like the store it was written from', async () => {
  const { plain, restored } = await twins();
  assert.equal(restored.size, keys.length);
  assert.deepEqual(contents(restored), contents(plain));
  for (const key of keys) assert.equal(text(restored.get(key)), `${key}@0`, key);
  assert.equal(restored.get('instrument-9999999'), undefined);
  assert.equal(restored.get('ключи'), undefined);
});

test('overwrites, deletes and re-adds move keys out of the base; a deleted key never comes back from it', async () => {
  const { plain, restored } = await twins();
  let offset = 2000;
  const both = (key: string, v: string | null): void => {
    for (const store of [plain, restored]) store.apply(key, 0, offset, 1, v === null ? null : value(v));
    offset++;
  };
  both('instrument-0000007', 'seven'); // overwrite
  both('ключ', null); // delete a non-ASCII key
  both('instrument-0000008', null); // delete
  both('instrument-0000008', 'back'); // re-add after delete
  both('new-key', 'new'); // a key the base never had
  both('instrument-0000009', null);
  assert.equal(restored.get('ключ'), undefined);
  assert.equal(restored.get('instrument-0000009'), undefined);
  assert.equal(text(restored.get('instrument-0000008')), 'back');
  assert.equal(restored.size, plain.size);
  assert.deepEqual(contents(restored), contents(plain));
  assert.equal([...restored.entries()].length, restored.size, 'every key once');
});

test('a snapshot opened on a restored store keeps its version, and visits every key once while keys move', async () => {
  const { restored } = await twins();
  const v1 = new Map([
    [0, 2000],
    [1, 2000],
    [2, 2000],
  ]);
  restored.openSnapshot(v1);
  const seen: string[] = [];
  let offset = 2000;
  for (const [key, entry] of restored.entriesAt(v1)) {
    seen.push(key);
    assert.equal(text(entry), `${key}@0`, `${key} as of the snapshot`);
    if (seen.length === 10) {
      // Move keys behind and ahead of the iteration, delete one ahead, add a new one.
      restored.apply('instrument-0000001', 0, offset++, 1, value('changed'));
      restored.apply('instrument-0004000', 0, offset++, 1, value('changed'));
      restored.apply('instrument-0004001', 0, offset++, 1, null);
      restored.apply('added-later', 0, offset++, 1, value('added'));
    }
  }
  assert.equal(seen.length, keys.length, 'no key missed or seen twice, none added after the snapshot');
  assert.equal(new Set(seen).size, seen.length);
  assert.equal(text(restored.getAt('instrument-0004001', v1)), 'instrument-0004001@0');
  assert.equal(restored.get('instrument-0004001'), undefined);
  restored.closeSnapshot(v1);
  assert.equal(restored.get('instrument-0004001'), undefined, 'the delete holds once the snapshot is closed');
  assert.equal(text(restored.get('instrument-0000001')), 'changed');
  assert.equal(restored.size, keys.length);
});
