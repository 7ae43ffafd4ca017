// Avro `long` without precision loss. avsc's own long refuses values beyond ±2^53 ("potential precision loss"), yet
// Java writers use Long.MAX_VALUE sentinels and nanosecond timestamps all the time. This long decodes to a `number`
// when it is a safe integer and to a `bigint` otherwise, and encodes either form.
import avro from 'avsc';

const minLong = -(2n ** 63n);
const maxLong = 2n ** 63n - 1n;

/** A long as hotstate hands it out: a number when exact, a bigint beyond ±(2^53 - 1). */
export type ExactLong = number | bigint;

const exact = (n: bigint): ExactLong =>
  n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;

const isExactLong = (value: unknown): value is ExactLong =>
  (typeof value === 'number' && Number.isSafeInteger(value)) ||
  (typeof value === 'bigint' && value >= minLong && value <= maxLong);

/** Decodes a zig-zag varint (the raw bytes avsc hands over with `noUnpack`). */
function fromVarint(buf: Buffer): ExactLong {
  if (buf.length <= 7) {
    // at most 49 bits: exact as a number, the common case
    let n = 0;
    let factor = 1;
    for (const byte of buf) {
      n += (byte & 0x7f) * factor;
      factor *= 128;
    }
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }
  let n = 0n;
  let shift = 0n;
  for (const byte of buf) {
    n |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
  }
  n = BigInt.asUintN(64, n);
  return exact((n >> 1n) ^ -(n & 1n));
}

function toVarint(value: ExactLong): Buffer {
  const signed = BigInt(value);
  let n = BigInt.asUintN(64, (signed << 1n) ^ (signed >> 63n)); // zig-zag
  const bytes: number[] = [];
  while (n >= 0x80n) {
    bytes.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  bytes.push(Number(n));
  return Buffer.from(bytes);
}

export const exactLongType = avro.types.LongType.__with(
  {
    fromBuffer: fromVarint,
    toBuffer: toVarint,
    fromJSON: (value: unknown): ExactLong => exact(BigInt(value as number | bigint | string)),
    toJSON: (value: ExactLong): number | bigint => value,
    isValid: isExactLong,
    compare: (a: ExactLong, b: ExactLong): number => {
      const x = BigInt(a);
      const y = BigInt(b);
      return x === y ? 0 : x < y ? -1 : 1;
    },
  },
  true,
); // noUnpack: the varint bytes as written, so small values skip BigInt entirely
