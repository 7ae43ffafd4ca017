// The replay's own record-batch decoder: every field of every record, compressed batches, batches cut short by the
// fetch size, read-committed filtering of aborted transactions, and clear refusals of bytes it cannot read.
// Batches are made by @platformatic/kafka's encoder (the one our producer sends with).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRecordsBatch, type MessageRecord } from '@platformatic/kafka';
import { decodeRecordBatches, RecordBatchError } from '../../services/lib/transport/platformatic/record-batches.ts';

const message = (key: string | null, value: string | null, headers?: Map<Buffer, Buffer>): MessageRecord => ({
  topic: 't',
  ...(key === null ? {} : { key: Buffer.from(key) }),
  value: value === null ? (null as unknown as Buffer) : Buffer.from(value),
  timestamp: 1_700_000_000_000n + BigInt(value?.length ?? 0),
  ...(headers ? { headers } : {}),
});

/** A batch at `baseOffset`, optionally compressed, transactional (producer id) or a control batch. */
function batch(
  baseOffset: number,
  messages: MessageRecord[],
  options: { compression?: 'gzip' | 'snappy' | 'lz4' | 'zstd'; producerId?: bigint; control?: boolean } = {},
): Buffer {
  const bytes = Buffer.from(
    createRecordsBatch(messages, {
      ...(options.compression ? { compression: options.compression } : {}),
      ...(options.producerId !== undefined
        ? { producerId: options.producerId, transactionalId: 'tx', producerEpoch: 0 }
        : {}),
    }).buffer,
  );
  bytes.writeBigInt64BE(BigInt(baseOffset), 0);
  if (options.control) bytes.writeInt16BE(bytes.readInt16BE(21) | 0x20, 21);
  return bytes;
}

const summary = (
  bytes: Buffer,
  from = 0,
  aborted: Parameters<typeof decodeRecordBatches>[2] = [],
): { next: number; records: Array<[number, string | null, string | null]> } => {
  const { records, next } = decodeRecordBatches(bytes, from, aborted);
  return { next, records: records.map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString() ?? null]) };
};

test('every field of every record, tombstones and headers included', () => {
  const headers = new Map([[Buffer.from('hotstate-source'), Buffer.from('rollback')]]);
  const bytes = Buffer.concat([
    batch(100, [message('a', 'one'), message('b', null), message('c', 'three', headers)]),
    batch(103, [message('a', 'four')]),
  ]);
  const { records, next } = decodeRecordBatches(bytes, 0, []);
  assert.equal(next, 104);
  assert.deepEqual(
    records.map((r) => r.offset),
    [100, 101, 102, 103],
  );
  assert.equal(records[1]?.value, null);
  assert.equal(records[0]?.timestamp, 1_700_000_000_003);
  assert.deepEqual(
    records[2]?.headers?.map(([k, v]) => [k?.toString(), v?.toString()]),
    [['hotstate-source', 'rollback']],
  );
  assert.deepEqual(
    records.map((r) => r.headers?.length),
    [0, 0, 1, 0],
  );
});

test('records before the position asked are skipped, and a batch cut short is left for the next fetch', () => {
  const whole = Buffer.concat([
    batch(0, [message('a', '1'), message('b', '2'), message('c', '3')]),
    batch(3, [message('d', '4')]),
  ]);
  assert.deepEqual(summary(whole, 2), {
    next: 4,
    records: [
      [2, 'c', '3'],
      [3, 'd', '4'],
    ],
  });
  assert.deepEqual(summary(whole.subarray(0, whole.length - 5)), {
    next: 3,
    records: [
      [0, 'a', '1'],
      [1, 'b', '2'],
      [2, 'c', '3'],
    ],
  });
  assert.deepEqual(summary(whole.subarray(0, 40)), { next: 0, records: [] });
});

test('compressed batches decode like plain ones, with every codec', () => {
  const messages = Array.from({ length: 50 }, (_, i) => message(`k${String(i)}`, `value ${String(i)} `.repeat(5)));
  const plain = summary(batch(10, messages));
  for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const)
    assert.deepEqual(summary(batch(10, messages, { compression })), plain, compression);
});

test('read committed: batches of an aborted transaction are dropped, up to its abort marker', () => {
  const log = Buffer.concat([
    batch(0, [message('a', 'plain')]),
    batch(1, [message('a', 'aborted'), message('b', 'aborted')], { producerId: 7n }),
    batch(3, [message('x', 'committed')], { producerId: 8n }),
    // The abort marker: a control record whose key is version 0, type 0 (abort).
    batch(4, [{ topic: 't', key: Buffer.alloc(4), value: Buffer.from([0, 0, 0, 0, 0, 0]) }], {
      producerId: 7n,
      control: true,
    }),
    batch(5, [message('a', 'after the abort')], { producerId: 7n }),
  ]);
  const aborted = [{ producerId: 7n, firstOffset: 1n }];
  assert.deepEqual(summary(log, 0, aborted), {
    next: 6,
    records: [
      [0, 'a', 'plain'],
      [3, 'x', 'committed'],
      [5, 'a', 'after the abort'],
    ],
  });
  // Without aborted transactions every data record is read; control batches never are.
  assert.deepEqual(
    summary(log, 0, []).records.map(([offset]) => offset),
    [0, 1, 2, 3, 5],
  );
});

test('bytes it cannot read are refused with what and where', () => {
  const good = batch(42, [message('a', 'one')]);
  const oldMagic = Buffer.from(good);
  oldMagic[16] = 1;
  assert.throws(
    () => decodeRecordBatches(oldMagic, 0, []),
    (e: unknown) => e instanceof RecordBatchError && /offset 42 has magic 1/.test(e.message),
  );
  const badLength = Buffer.from(good);
  badLength[61] = 0x7e; // the first record's length varint: 63 bytes, past the batch
  assert.throws(
    () => decodeRecordBatches(badLength, 0, []),
    (e: unknown) => e instanceof RecordBatchError && /record 0 of the batch at offset 42/.test(e.message),
  );
  const unknownCodec = Buffer.from(good);
  unknownCodec.writeInt16BE(5, 21);
  assert.throws(() => decodeRecordBatches(unknownCodec, 0, []), /uses compression 5/);
});
