// A replaying view writes its store off the heap (bulk: appended to a BaseIndex) instead of into the Map: the store
// must answer exactly like one that applied the same records to the Map, through overwrites, deletes, re-adds,
// table growth, slab ends, snapshots opened while replaying, and the switch to live.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeSnapshotFile } from '../../services/lib/snapshot/format.ts';
import { readSnapshotBase } from '../../services/lib/snapshot/read-in-place.ts';
import { entryOffset, entryValueBytes } from '../../services/lib/store/entry.ts';
import { SnapshotStore } from '../../services/lib/store/store.ts';
import { FetchedRecord } from '../../services/lib/transport/transport.ts';

const value = (text: string): Buffer => Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), Buffer.from(text)]);
const text = (entry: string | undefined): string | undefined =>
  entry === undefined ? undefined : entryValueBytes(entry).subarray(5).toString();
const contents = (store: SnapshotStore): Map<string, string | undefined> =>
  new Map([...store.entries()].map(([k, e]) => [k, text(e)]));
const keyOf = (i: number): string => (i % 50 === 0 ? `ключ-${String(i)}` : `instrument-${String(i).padStart(7, '0')}`);

/** A pseudo-random sequence of records over `keySpace` keys (a third deletes), the same on every call. */
function* records(
  count: number,
  keySpace: number,
  seed = 7,
): Generator<{ key: string; partition: number; offset: number; value: Buffer | null }> {
  let x = seed;
  for (let offset = 0; offset < count; offset++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const key = keyOf(x % keySpace);
    yield { key, partition: key.length % 3, offset, value: x % 3 === 0 ? null : value(`${key}@${String(offset)}`) };
  }
}

function applyAll(
  store: SnapshotStore,
  list: Iterable<{ key: string; partition: number; offset: number; value: Buffer | null }>,
): void {
  for (const r of list) store.applyOver(store.current(r.key), r.key, r.partition, r.offset, 1000 + r.offset, r.value);
}

test('a store written in bulk answers like one written to the Map, with and without room reserved', () => {
  const plain = new SnapshotStore();
  applyAll(plain, records(30_000, 5000));
  for (const reserve of [0, 30_000]) {
    const bulk = new SnapshotStore();
    bulk.reserve(reserve);
    bulk.bulk = true;
    applyAll(bulk, records(30_000, 5000));
    assert.equal(bulk.size, plain.size);
    assert.deepEqual(contents(bulk), contents(plain));
    assert.equal([...bulk.entries()].length, bulk.size, 'every key once');
    for (let i = 0; i < 5000; i++) assert.equal(text(bulk.get(keyOf(i))), text(plain.get(keyOf(i))), keyOf(i));
    assert.equal(bulk.get('never-written'), undefined);
  }
});

/** The records as fetched, several to a shared buffer (as a batch holds them), applied by their key bytes. */
function applyByKeyBytes(
  store: SnapshotStore,
  list: Iterable<{ key: string; partition: number; offset: number; value: Buffer | null }>,
): void {
  const pending = [...list];
  for (let first = 0; first < pending.length; first += 7) {
    const group = pending.slice(first, first + 7);
    const parts = group.flatMap((r) => [Buffer.from(r.key), r.value ?? Buffer.alloc(0)]);
    const bytes = Buffer.concat([Buffer.from('junk'), ...parts]);
    let at = 4;
    for (const r of group) {
      const keyLength = Buffer.byteLength(r.key);
      const record = new FetchedRecord(
        r.offset,
        1000 + r.offset,
        bytes,
        at,
        keyLength,
        at + keyLength,
        r.value === null ? -1 : r.value.length,
      );
      at += keyLength + (r.value?.length ?? 0);
      assert.equal(store.takesKeyBytes, true);
      store.applyRecord(store.currentOfRecord(record), record, r.partition);
    }
  }
}

test('records applied by their key bytes answer like keys applied as strings (ASCII, non-ASCII and long keys)', () => {
  const long = (i: number): string => `${'long-key-'.repeat(5)}${String(i)}`; // past the byte loop's 32 bytes
  const mixed = [...records(30_000, 5000)].map((r, i) => (i % 11 === 0 ? { ...r, key: long(r.offset % 700) } : r));
  const byText = new SnapshotStore();
  byText.reserve(30_000);
  byText.bulk = true;
  applyAll(byText, mixed);
  const byBytes = new SnapshotStore();
  byBytes.reserve(30_000);
  byBytes.bulk = true;
  applyByKeyBytes(byBytes, mixed);
  assert.equal(byBytes.size, byText.size);
  assert.deepEqual(contents(byBytes), contents(byText));
  assert.equal([...byBytes.entries()].length, byBytes.size, 'every key once');
  for (let i = 0; i < 5000; i++) assert.equal(text(byBytes.get(keyOf(i))), text(byText.get(keyOf(i))), keyOf(i));
  for (let i = 0; i < 700; i++) assert.equal(text(byBytes.get(long(i))), text(byText.get(long(i))), long(i));
  // Keys written by bytes are found by their strings and the other way round, once live.
  byBytes.bulk = false;
  assert.equal(byBytes.takesKeyBytes, false);
  byBytes.apply(keyOf(1), 0, 50_000, 1, value('live'));
  assert.equal(text(byBytes.get(keyOf(1))), 'live');
  assert.equal([...byBytes.entries()].length, byBytes.size);
});

test('values larger than a slab, and records that do not fit the rest of one', () => {
  const plain = new SnapshotStore();
  const bulk = new SnapshotStore();
  bulk.bulk = true;
  const big = (i: number): Buffer => value(`${String(i)}:${'x'.repeat(3 * 1024 * 1024 + i)}`);
  for (let i = 0; i < 12; i++) for (const store of [plain, bulk]) store.apply(`big-${String(i % 5)}`, 0, i, 1, big(i));
  assert.deepEqual(contents(bulk), contents(plain));
  assert.equal(bulk.size, 5);
});

test('going live: later changes move keys out of the base, and the result survives a snapshot file', async () => {
  const plain = new SnapshotStore();
  const bulk = new SnapshotStore();
  bulk.bulk = true;
  applyAll(plain, records(20_000, 3000));
  applyAll(bulk, records(20_000, 3000));
  bulk.bulk = false;
  const later = [...records(5000, 3500, 99)].map((r) => ({ ...r, offset: 20_000 + r.offset }));
  applyAll(plain, later);
  applyAll(bulk, later);
  assert.deepEqual(contents(bulk), contents(plain));
  const positions = new Map([
    [0, 30_000],
    [1, 30_000],
    [2, 30_000],
  ]);
  const file = join(mkdtempSync(join(tmpdir(), 'store-bulk-')), 't.snapshot');
  await writeSnapshotFile(file, { topic: 't', topicId: 'id', positions, createdAt: Date.now() }, bulk.entries());
  const restored = new SnapshotStore();
  restored.loadBase((await readSnapshotBase(file)).base);
  restored.bulk = true; // catching up after a restore appends to the restored base
  const tail = [...records(4000, 4000, 5)].map((r) => ({ ...r, offset: 30_000 + r.offset }));
  applyAll(plain, tail);
  applyAll(restored, tail);
  assert.deepEqual(contents(restored), contents(plain));
  assert.equal(restored.size, plain.size);
});

test('a snapshot opened while replaying keeps its version and visits every key once', () => {
  const bulk = new SnapshotStore();
  bulk.bulk = true;
  applyAll(bulk, records(10_000, 2000));
  const before = contents(bulk);
  const v1 = new Map([
    [0, 10_000],
    [1, 10_000],
    [2, 10_000],
  ]);
  bulk.openSnapshot(v1);
  const seen = new Map<string, string | undefined>();
  let offset = 10_000;
  for (const [key, entry] of bulk.entriesAt(v1)) {
    assert.ok(!seen.has(key), `${key} seen twice`);
    seen.set(key, text(entry));
    assert.ok(entryOffset(entry) < 10_000);
    // Writes while it is open go to the Map (kept apart for the snapshot), behind and ahead of the iteration.
    if (seen.size % 100 === 0)
      applyAll(
        bulk,
        [...records(20, 2500, seen.size)].map((r) => ({ ...r, offset: offset++ })),
      );
  }
  assert.deepEqual(seen, before);
  bulk.closeSnapshot(v1);
  // After it closes, bulk writes go off the heap again and the store still reads like the plain one.
  const plain = new SnapshotStore();
  applyAll(plain, records(10_000, 2000));
  let replayed = 10_000;
  for (let i = 100; i <= seen.size; i += 100)
    applyAll(
      plain,
      [...records(20, 2500, i)].map((r) => ({ ...r, offset: replayed++ })),
    );
  const more = [...records(3000, 2500, 11)].map((r) => ({ ...r, offset: 50_000 + r.offset }));
  applyAll(plain, more);
  applyAll(bulk, more);
  assert.deepEqual(contents(bulk), contents(plain));
  assert.equal([...bulk.entries()].length, bulk.size, 'every key once');
});
