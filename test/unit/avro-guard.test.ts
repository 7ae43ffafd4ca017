// Hostile and malformed Avro bytes are refused with a cost bounded by their length; valid data passes exactly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import avro from 'avsc';
import { AvroGuardError, checkDatum, defaultDatumLimits, walkDatum } from '../../services/lib/codec/avro-guard.ts';
import { parseAvroSchema } from '../../services/lib/codec/confluent-avro.ts';
import { schemaText } from '../helpers/datasets.ts';

const flags = parseAvroSchema(schemaText('feature-flags', 2));
const prices = parseAvroSchema(schemaText('instrument-prices', 2));
const refuse = (type: avro.Type, bytes: Buffer, reason: RegExp): void => {
  assert.throws(
    () => {
      checkDatum(type, bytes, 0);
    },
    (error: unknown) => error instanceof AvroGuardError && reason.test(error.message),
  );
};

test('valid data of every sample schema passes, at any offset', () => {
  const flag = { enabled: true, rolloutPercent: 40, description: 'x', allowList: ['a', 'b'], owner: 'team' };
  checkDatum(flags, flags.toBuffer(flag), 0);
  const framed = Buffer.concat([
    Buffer.from([0, 0, 0, 0, 7]),
    prices.toBuffer({ instrument: 'A', price: 1, currency: 'EUR', updatedAt: 5, venue: null }),
  ]);
  checkDatum(prices, framed, 5);
  for (let i = 0; i < 200; i++) {
    const random = prices.random();
    checkDatum(prices, prices.toBuffer(random), 0);
  }
});

test('truncated and trailing bytes', () => {
  const good = prices.toBuffer({ instrument: 'ACME', price: 1, currency: 'EUR', updatedAt: 5, venue: 'XPAR' });
  refuse(prices, good.subarray(0, good.length - 1), /truncated/);
  refuse(prices, Buffer.concat([good, Buffer.from([0])]), /1 trailing byte/);
});

test('absurd array and map counts are refused without allocating', () => {
  const arrayOfNull = avro.Type.forSchema({ type: 'array', items: 'null' });
  const huge = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x0f]); // zig-zag 2^31 - 1 items
  const began = performance.now();
  refuse(arrayOfNull, huge, /declares 2147483647 items/);
  const arrayOfString = avro.Type.forSchema({ type: 'array', items: 'string' });
  refuse(arrayOfString, Buffer.concat([huge, Buffer.alloc(3)]), /more than the 3 bytes left can hold/);
  const mapOfLong = avro.Type.forSchema({ type: 'map', values: 'long' });
  refuse(mapOfLong, huge, /declares 2147483647 items/);
  refuse(arrayOfString, Buffer.from([0x01, 0xc8, 0x01]), /block size 100 exceeds/); // count -1, block size 100
  assert.ok(
    performance.now() - began < 500,
    'refused at once (allocating 2^31 items would take seconds; 500 ms holds on a loaded machine)',
  );
});

test('absurd lengths, over-long varints, out-of-range ints, enum and union indexes', () => {
  refuse(avro.Type.forSchema('string'), Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x0f, 0x41]), /needs 2147483647 bytes/);
  refuse(avro.Type.forSchema('int'), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), /over-long varint/);
  refuse(avro.Type.forSchema('int'), Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x1f]), /does not fit an int/);
  refuse(avro.Type.forSchema('long'), Buffer.alloc(11, 0x80), /over-long varint/);
  refuse(
    avro.Type.forSchema({ type: 'enum', name: 'E', symbols: ['A'] }),
    Buffer.from([0x02]),
    /enum index 1 out of range/,
  );
  refuse(avro.Type.forSchema(['null', 'string']), Buffer.from([0x04]), /union branch 2 out of range/);
  refuse(avro.Type.forSchema('boolean'), Buffer.from([0x07]), /boolean byte 7/);
  refuse(avro.Type.forSchema('string'), Buffer.from([0x01]), /negative length/);
});

test('one budget per record: items are counted across nested containers, depth is capped', () => {
  const grid = avro.Type.forSchema({ type: 'array', items: { type: 'array', items: 'null' } });
  const bytes = grid.toBuffer(Array.from({ length: 2000 }, () => Array<null>(10).fill(null))); // 20,000 nulls in ~4 KB
  const tight = { maxItems: 10_000, maxDepth: 64 };
  assert.throws(() => {
    checkDatum(grid, bytes, 0, tight);
  }, /beyond the record's budget of 10000 array items and map entries/);
  checkDatum(grid, bytes, 0, { maxItems: 22_000, maxDepth: 64 });
  const wide = avro.Type.forSchema({ type: 'array', items: 'boolean' });
  refuse(wide, wide.toBuffer(Array<boolean>(30_000).fill(true)), /beyond the record's budget of 25000/);
  const list = avro.Type.forSchema({
    type: 'record',
    name: 'Node',
    fields: [{ name: 'next', type: ['null', 'Node'] }],
  });
  // 100,000 nested nodes in 100 KB (union branch 1 each, then null): refused, not a stack overflow here or in avsc
  const deepBytes = Buffer.concat([Buffer.alloc(100_000, 0x02), Buffer.from([0x00])]);
  refuse(list, deepBytes, /nested deeper than 64 levels/);
  checkDatum(list, Buffer.concat([Buffer.alloc(30, 0x02), Buffer.from([0x00])]), 0);
});

test('longs: the full 64-bit range passes, a varint beyond it is refused', () => {
  const long = parseAvroSchema('"long"');
  for (const v of [9223372036854775807n, -9223372036854775808n, 0, -1]) checkDatum(long, long.toBuffer(v), 0);
  refuse(long, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), /does not fit a long/);
});

test('the flat plan of a schema without arrays or maps refuses exactly what the walk refuses', () => {
  const flat = avro.Type.forSchema({
    type: 'record',
    name: 'Flat',
    fields: [
      { name: 's', type: 'string' },
      { name: 'b', type: 'boolean' },
      { name: 'i', type: 'int' },
      { name: 'l', type: 'long' },
      { name: 'f', type: 'float' },
      { name: 'd', type: 'double' },
      { name: 'x', type: { type: 'fixed', name: 'F3', size: 3 } },
      { name: 'e', type: { type: 'enum', name: 'E', symbols: ['A', 'B', 'C'] } },
      { name: 'u', type: ['null', 'string', 'long'] },
      {
        name: 'n',
        type: {
          type: 'record',
          name: 'Inner',
          fields: [
            { name: 'by', type: 'bytes' },
            { name: 'o', type: ['null', 'int'] },
          ],
        },
      },
    ],
  });
  const verdict = (check: () => void): string => {
    try {
      check();
      return 'ok';
    } catch (error) {
      assert.ok(error instanceof AvroGuardError, String(error));
      return 'refused';
    }
  };
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const good = flat.toBuffer(flat.random());
    const bytes = Buffer.from(good);
    const cut =
      i % 3 === 0
        ? bytes.subarray(0, i % bytes.length)
        : i % 3 === 1
          ? Buffer.concat([bytes, Buffer.from([i % 256])])
          : bytes;
    if (i % 3 === 2) for (let k = 0; k < 1 + (i % 4); k++) bytes[(i * 7 + k * 13) % bytes.length] = (i * 31 + k) % 256;
    const expected = verdict(() => {
      walkDatum(flat, cut, 0);
    });
    assert.equal(
      verdict(() => {
        checkDatum(flat, cut, 0);
      }),
      expected,
      `bytes ${cut.toString('hex')}`,
    );
    // The same bytes inside a larger buffer (a record in its fetched batch): what follows `end` never counts, even
    // bytes that would complete a varint or a string cut short.
    const embedded = Buffer.concat([Buffer.from([9, 9]), cut, Buffer.from([0x81, 0x82, 0x03, i % 256, 0x7f, 0x01])]);
    assert.equal(
      verdict(() => {
        checkDatum(flat, embedded, 2, defaultDatumLimits, 2 + cut.length);
      }),
      expected,
      `embedded ${cut.toString('hex')}`,
    );
    if (expected === 'refused') refused++;
  }
  assert.ok(refused > 1000, `mutations refused: ${String(refused)}`);
  // Nesting beyond the limit is refused by the plan's depth as by the walk.
  assert.throws(() => {
    checkDatum(flat, flat.toBuffer(flat.random()), 0, { maxItems: 10, maxDepth: 1 });
  }, /nested deeper than 1 levels/);
});
