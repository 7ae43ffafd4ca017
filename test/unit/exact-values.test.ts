// Numbers as Avro defines them: longs over the full 64-bit range, NaN and ±Infinity, through Avro and through JSON.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAvroSchema } from '../../services/lib/codec/confluent-avro.ts';
import { JsonNumberError, parseJsonExact, stringifyJson } from '../../services/lib/codec/json-values.ts';
import { validateValue } from '../../services/lib/codec/validate.ts';

const type = parseAvroSchema({
  type: 'record',
  name: 'R',
  fields: [
    { name: 'at', type: 'long' },
    { name: 'maybe', type: ['null', 'long'] },
    { name: 'x', type: 'double' },
    { name: 'either', type: ['long', 'double'] },
  ],
});

test('longs decode exactly: numbers while safe, bigints beyond; every value round-trips', () => {
  for (const at of [
    0,
    1,
    -1,
    2 ** 53 - 1,
    -(2 ** 53 - 1),
    2n ** 53n,
    9223372036854775807n,
    -9223372036854775808n,
    1_790_000_000_123_456_789n,
  ]) {
    const back = type.fromBuffer(type.toBuffer({ at, maybe: at, x: 1, either: { long: at } })) as {
      at: unknown;
      maybe: unknown;
    };
    assert.equal(back.at, at);
    assert.equal(back.maybe, at);
  }
  assert.equal(
    validateValue(type, { at: 2 ** 60, maybe: null, x: 1, either: { double: 1 } })[0]?.reason.includes(
      'not an exact integer',
    ),
    true,
  );
  assert.match(
    validateValue(type, { at: 2n ** 63n, maybe: null, x: 1, either: { double: 1 } })[0]?.reason ?? '',
    /outside the long range/,
  );
});

test('JSON: exact integer literals in and out, non-finite doubles named, overflowing literals refused with the field', () => {
  const text = '{"at":9223372036854775807,"maybe":-9223372036854775808,"x":1.5,"either":{"long":12}}';
  const parsed = parseJsonExact(text) as Record<string, unknown>;
  assert.deepEqual(parsed, { at: 9223372036854775807n, maybe: -9223372036854775808n, x: 1.5, either: { long: 12 } });
  assert.equal(stringifyJson(type.fromBuffer(type.toBuffer(parsed))), text);
  assert.equal(
    stringifyJson({ a: Number.NaN, b: Number.POSITIVE_INFINITY, c: Number.NEGATIVE_INFINITY }),
    '{"a":"NaN","b":"Infinity","c":"-Infinity"}',
  );
  assert.throws(
    () => parseJsonExact('{"value":{"price":1e400}}'),
    (error: unknown) =>
      error instanceof JsonNumberError && /field "price": 1e400 is beyond the range of a double/.test(error.message),
  );
  assert.throws(() => parseJsonExact('{"__proto__":{"x":1}}'), /prototype/);
  assert.equal(parseJsonExact('12345678901234567890.5'), 12345678901234567000); // not an integer literal: stays a double
});
