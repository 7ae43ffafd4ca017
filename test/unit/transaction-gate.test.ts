// The transaction gate against a model: transactions spread over partitions in commit order, chunks and END events
// arriving in random interleavings; after every release, each transaction is applied wholly or not at all, and each
// partition's records come out in offset order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TransactionGate, type Released } from '../../services/lib/core/transaction-gate.ts';
import type { TransactionEnd, TransactionTag } from '../../services/lib/sources/change-shape.ts';
import { FetchedRecord } from '../../services/lib/transport/transport.ts';

const TABLE = 'public.t';
const PARTITIONS = [0, 1, 2];

interface Change {
  readonly tx: string;
  readonly order: number;
  readonly partition: number;
  readonly offset: number;
}

function randomFrom(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/**
 * Transactions of 1–`max` changes, spread over the partitions in commit order; their END events in the same order.
 * With `duplicates`, some changes are delivered twice in a row (a connector restarted mid-stream).
 */
function workload(random: () => number, count: number, max: number, duplicates = false) {
  const offsets = PARTITIONS.map(() => 0);
  const perPartition: Change[][] = PARTITIONS.map(() => []);
  const ends: TransactionEnd[] = [];
  for (let k = 0; k < count; k++) {
    const tx = String(1000 + k);
    const size = 1 + Math.floor(random() * max);
    for (let order = 1; order <= size; order++) {
      const partition = Math.floor(random() * PARTITIONS.length);
      const copies = duplicates && random() < 0.2 ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        const offset = offsets[partition] ?? 0;
        offsets[partition] = offset + 1;
        perPartition[partition]?.push({ tx, order, partition, offset });
      }
    }
    ends.push({ id: tx, counts: new Map([[TABLE, size]]) });
  }
  return { perPartition, ends };
}

const record = (change: Change, timestamp: number): FetchedRecord =>
  FetchedRecord.of({
    offset: change.offset,
    timestamp,
    key: Buffer.from(change.tx),
    value: Buffer.from(String(change.order)),
  });
const tag = (change: Change): TransactionTag => ({ id: change.tx, collection: TABLE, order: change.order });

/** Feeds the gate in a random interleaving and checks every release against the model. */
function run(seed: number, options: { chunk: number; duplicates?: boolean }) {
  const random = randomFrom(seed);
  const { perPartition, ends } = workload(random, 60, 12, options.duplicates);
  const gate = new TransactionGate(0, 30_000);
  const sizes = new Map(ends.map((end) => [end.id, end.counts.get(TABLE) ?? 0]));
  const applied = new Map<string, Set<string>>(); // tx → its changes applied
  const nextOffset = PARTITIONS.map(() => 0);
  const cursors = PARTITIONS.map(() => 0);
  let endsRead = 0;
  let complete = 0;
  const check = (released: Released) => {
    complete += released.complete;
    assert.deepEqual(released.torn, []);
    for (const part of released.parts) {
      for (const r of part.records) {
        assert.equal(r.offset, nextOffset[part.partition], 'offset order within a partition');
        nextOffset[part.partition] = r.offset + 1;
        const tx = (r.key as Buffer).toString();
        applied.set(tx, (applied.get(tx) ?? new Set()).add((r.value as Buffer).toString()));
      }
      assert.equal(part.next, nextOffset[part.partition]);
    }
    for (const [tx, changes] of applied)
      assert.ok(
        changes.size === sizes.get(tx),
        `transaction ${tx}: ${String(changes.size)} of ${String(sizes.get(tx))} applied`,
      );
  };
  const readToEnd = (p: number) => cursors[p] === perPartition[p]?.length;
  for (;;) {
    const open = PARTITIONS.filter((p) => (cursors[p] ?? 0) < (perPartition[p]?.length ?? 0));
    if (open.length === 0 && endsRead === ends.length) break;
    if (endsRead < ends.length && (open.length === 0 || random() < 0.3)) {
      gate.end(ends[endsRead++] as TransactionEnd, 1);
    } else {
      const p = open[Math.floor(random() * open.length)] as number;
      const from = cursors[p] ?? 0;
      const changes = (perPartition[p] ?? []).slice(from, from + 1 + Math.floor(random() * options.chunk));
      cursors[p] = from + changes.length;
      gate.add(
        p,
        changes.map((c) => record(c, 1)),
        new Map(),
        cursors[p],
        changes.map(tag),
      );
    }
    check(gate.release(2, PARTITIONS, readToEnd));
  }
  check(gate.release(2, PARTITIONS, readToEnd));
  return { gate, applied, sizes, complete };
}

test('every transaction is released whole, in commit order per partition, whatever the interleaving', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const { gate, applied, sizes, complete } = run(seed, { chunk: 5 });
    assert.equal(gate.heldRecords, 0, `seed ${String(seed)}: nothing left held`);
    assert.equal(complete, sizes.size);
    assert.deepEqual(new Map([...applied].map(([tx, changes]) => [tx, changes.size])), sizes);
  }
});

test('a change delivered twice (a restarted connector) counts once toward its transaction', () => {
  for (let seed = 1; seed <= 10; seed++) {
    const { gate, applied, sizes } = run(seed, { chunk: 3, duplicates: true });
    assert.equal(gate.heldRecords, 0);
    assert.deepEqual(new Map([...applied].map(([tx, changes]) => [tx, changes.size])), sizes);
  }
});

test('a transaction partly compacted away is let through torn once a later one shows in every partition', () => {
  const gate = new TransactionGate(0, 30_000);
  gate.end({ id: '1', counts: new Map([[TABLE, 3]]) }, 100);
  gate.end({ id: '2', counts: new Map([[TABLE, 3]]) }, 100);
  const change = (tx: string, order: number, partition: number, offset: number) =>
    ({ tx, order, partition, offset }) satisfies Change;
  // Transaction 1 lost one change to compaction; transaction 2 is whole, one change per partition.
  const arrivals: Change[] = [change('1', 1, 0, 0), change('1', 3, 1, 0), change('2', 1, 0, 1), change('2', 2, 1, 1)];
  for (const c of arrivals) gate.add(c.partition, [record(c, 100)], new Map(), c.offset + 1, [tag(c)]);
  const waiting = gate.release(200, PARTITIONS, () => false);
  assert.deepEqual(waiting.parts, [], 'partition 2 has shown nothing later yet: wait');
  gate.add(2, [record(change('2', 3, 2, 0), 100)], new Map(), 1, [tag(change('2', 3, 2, 0))]);
  const released = gate.release(200, PARTITIONS, () => false);
  assert.equal(released.complete, 1);
  assert.equal(released.torn.length, 1);
  assert.match(released.torn[0]?.detail ?? '', /2 public\.t change\(s\) of 3 public\.t arrived/);
  assert.deepEqual(
    released.parts.map((p) => [p.partition, p.records.map((r) => r.offset), p.next]),
    [
      [0, [0, 1], 2],
      [1, [0, 1], 2],
      [2, [0], 1],
    ],
  );
});

test('read to the end and older than the settle time: a torn transaction goes; a younger one waits', () => {
  const gate = new TransactionGate(0, 1000);
  gate.end({ id: '7', counts: new Map([[TABLE, 2]]) }, 5000);
  gate.add(0, [record({ tx: '7', order: 1, partition: 0, offset: 0 }, 5000)], new Map(), 1, [
    { id: '7', collection: TABLE, order: 1 },
  ]);
  assert.equal(gate.release(5500, PARTITIONS, () => true).parts.length, 0, 'the END is younger than settleMs');
  assert.equal(gate.release(9000, PARTITIONS, (p) => p !== 1).parts.length, 0, 'partition 1 is not read to its end');
  const released = gate.release(9000, PARTITIONS, () => true);
  assert.equal(released.torn.length, 1);
  assert.equal(released.parts[0]?.records.length, 1);
});

test('without an END: held until the transaction topic is read to its end and the change is older than settleMs', () => {
  const gate = new TransactionGate(0, 1000);
  const c = { tx: '9', order: 1, partition: 0, offset: 0 };
  gate.add(0, [record(c, 5000)], new Map(), 1, [tag(c)]);
  assert.equal(gate.release(9000, PARTITIONS, () => true).parts.length, 0, 'the transaction topic may still hold it');
  gate.endsCaughtUp = true;
  assert.equal(gate.release(5500, PARTITIONS, () => true).parts.length, 0, 'younger than settleMs');
  const released = gate.release(9000, PARTITIONS, () => true);
  assert.match(released.torn[0]?.detail ?? '', /no END event/);
  // A straggler of a released transaction is not held again.
  gate.add(0, [record({ ...c, order: 2, offset: 1 }, 5000)], new Map(), 2, [{ id: '9', collection: TABLE, order: 2 }]);
  assert.deepEqual(
    gate.release(9001, PARTITIONS, () => true).parts.map((p) => p.next),
    [2],
  );
});

test('changes written before the transaction topic is read from, and untagged records, pass in order', () => {
  const gate = new TransactionGate(10_000, 1000);
  const old = { tx: '3', order: 1, partition: 0, offset: 0 };
  const young = { tx: '4', order: 1, partition: 0, offset: 2 };
  gate.add(
    0,
    [
      record(old, 9000),
      FetchedRecord.of({ offset: 1, timestamp: 9500, key: Buffer.from('k'), value: null }),
      record(young, 11_000),
    ],
    new Map(),
    3,
    [tag(old), undefined, tag(young)],
  );
  const first = gate.release(11_000, [0], () => true);
  assert.deepEqual(
    first.parts.map((p) => [p.records.map((r) => r.offset), p.next]),
    [[[0, 1], 2]],
  );
  assert.equal(gate.heldRecords, 1);
  gate.end({ id: '4', counts: new Map([[TABLE, 1]]) }, 11_000);
  assert.deepEqual(
    gate.release(11_000, [0], () => true).parts.map((p) => p.next),
    [3],
  );
  assert.equal(gate.heldRecords, 0);
});
