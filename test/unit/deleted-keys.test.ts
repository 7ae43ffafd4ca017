// DeletedKeys answers "which partition deleted this key" for the key-partition rule; a bit filter in front of its
// Maps must never hide a remembered key (through growth, rotation and non-ASCII keys) and the store's cached
// hash must be the one the filter uses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyHash } from '../../services/lib/store/key-hash.ts';
import { DeletedKeys } from '../../services/lib/store/deleted-keys.ts';
import { SnapshotStore } from '../../services/lib/store/store.ts';

const keyOf = (i: number): string => (i % 7 === 0 ? `ключ-${String(i)}` : `instrument-${String(i).padStart(7, '0')}`);

test('every remembered key is found through filter growth; keys never deleted mostly skip the Maps', () => {
  const deleted = new DeletedKeys(Number.POSITIVE_INFINITY);
  for (let i = 0; i < 50_000; i += 2) deleted.remember(keyOf(i), i % 3, 0);
  for (let i = 0; i < 50_000; i += 2) assert.equal(deleted.partitionOf(keyOf(i)), i % 3, keyOf(i));
  for (let i = 1; i < 50_000; i += 2) assert.equal(deleted.partitionOf(keyOf(i), keyHash(keyOf(i))), undefined);
  assert.equal(deleted.size, 25_000);
});

test('rotation keeps the previous generation findable and forgets the one before it', () => {
  const deleted = new DeletedKeys(1000); // rotated every 500 ms of `now`
  const began = Date.now();
  for (let i = 0; i < 5000; i++) deleted.remember(keyOf(i), 1, began);
  deleted.remember('later', 2, began + 600); // rotation: the first 5000 become the older generation
  for (let i = 0; i < 5000; i++) assert.equal(deleted.partitionOf(keyOf(i)), 1);
  assert.equal(deleted.partitionOf('later'), 2);
  deleted.remember('latest', 0, began + 1200); // rotation: the first 5000 expire
  for (let i = 0; i < 5000; i++) assert.equal(deleted.partitionOf(keyOf(i)), undefined);
  assert.equal(deleted.partitionOf('later'), 2);
  assert.equal(deleted.partitionOf('latest'), 0);
});

test("the store's hash of the key it looked up last is keyHash", () => {
  const store = new SnapshotStore();
  store.bulk = true;
  store.reserve(10);
  for (const key of ['a', 'ключ', 'instrument-0000042']) {
    store.current(key);
    assert.equal(store.keyHash(key), keyHash(key));
    assert.equal(store.keyHash(`${key}!`), keyHash(`${key}!`), 'a key not looked up last is hashed');
  }
});
