// The view's packed entries and snapshot store, without Kafka.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  entryOffset,
  entryPartition,
  entrySchemaId,
  entryTimestamp,
  entryValueBytes,
  isTombstone,
  packEntry,
} from '../../services/lib/store/entry.ts';
import { SnapshotStore } from '../../services/lib/store/store.ts';

const value = (schemaId: number, body: string): Buffer => {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, Buffer.from(body)]);
};

test('an entry packs metadata and value bytes into one string', () => {
  const bytes = value(4_000_000_001, 'hello\u00ff');
  const entry = packEntry(65_535, 2 ** 40 + 7, 1_795_000_000_123, bytes);
  assert.deepEqual(
    [entryPartition(entry), entryOffset(entry), entryTimestamp(entry), entrySchemaId(entry), isTombstone(entry)],
    [65_535, 2 ** 40 + 7, 1_795_000_000_123, 4_000_000_001, false],
  );
  assert.ok(entryValueBytes(entry).equals(bytes));
  assert.equal(isTombstone(packEntry(0, 1, 2, null)), true);
});

test('snapshots keep reading their version while writes and deletes continue', () => {
  const store = new SnapshotStore();
  store.apply('a', 0, 0, 1, value(1, 'a0'));
  store.apply('b', 0, 1, 1, value(1, 'b0'));
  const v1 = new Map([[0, 2]]);
  store.openSnapshot(v1);
  store.apply('a', 0, 2, 1, value(1, 'a1'));
  store.apply('b', 0, 3, 1, null);
  store.apply('c', 0, 4, 1, value(1, 'c0'));
  const v2 = new Map([[0, 5]]);
  store.openSnapshot(v2);
  store.apply('a', 0, 5, 1, value(1, 'a2'));
  const read = (positions: Map<number, number>, key: string): string | undefined => {
    const entry = store.getAt(key, positions);
    return entry === undefined ? undefined : entryValueBytes(entry).subarray(5).toString();
  };
  assert.deepEqual(
    ['a', 'b', 'c'].map((k) => read(v1, k)),
    ['a0', 'b0', undefined],
  );
  assert.deepEqual(
    ['a', 'b', 'c'].map((k) => read(v2, k)),
    ['a1', undefined, 'c0'],
  );
  assert.deepEqual(
    [...store.entriesAt(v1)].map(([k]) => k),
    ['a', 'b'],
  );
  assert.equal(store.size, 2);
  assert.equal(store.get('b'), undefined);
  store.closeSnapshot(v1);
  store.closeSnapshot(v2);
  assert.deepEqual(
    [...store.entries()].map(([k]) => k),
    ['a', 'c'],
    'tombstones kept for snapshots are dropped with the last one',
  );
});
