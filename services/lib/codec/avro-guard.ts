// Checks that bytes are exactly one well-formed Avro datum of a schema before avsc decodes them. avsc trusts
// declared sizes: a handful of hostile bytes can declare an array of 2^31 items and exhaust memory or CPU, and an
// over-long varint decodes silently into an int. This walk reads every length, count, index and varint with
// bounds checks. One budget covers the whole record, not each container: array and map items are capped in total
// (nested containers cannot multiply a cap; items that occupy no bytes, such as nulls, cannot escape it), strings
// and bytes are paid for by their bytes, and nesting is capped in depth (a recursive schema cannot overflow the
// stack, here or in avsc). So decoding a datum costs time and memory bounded by its bytes plus maxItems.
import type { Type } from 'avsc';
import type { AvroNode } from './avro-types.ts';

export class AvroGuardError extends Error {
  override name = 'AvroGuardError';
}

type Node = AvroNode;

/** Per-record limits of the guard. */
export interface DatumLimits {
  /** Array items and map entries, summed over the whole record. */
  readonly maxItems: number;
  /** Nested records, arrays, maps and unions, counted from the top-level value. */
  readonly maxDepth: number;
}

// A read of a record with 25,000 map entries (the slowest kind: avsc builds the object key by key) answers over
// HTTP in about 50 ms; arrays are cheaper per item. Raise it for records that legitimately hold more.
export const defaultDatumLimits: DatumLimits = { maxItems: 25_000, maxDepth: 64 };

class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly limits: DatumLimits;
  /** Items left in this record's budget. */
  itemsLeft: number;

  constructor(buf: Buffer, pos: number, limits: DatumLimits) {
    this.buf = buf;
    this.pos = pos;
    this.limits = limits;
    this.itemsLeft = limits.maxItems;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  skip(n: number, what: Path): void {
    if (n > this.remaining)
      throw new AvroGuardError(
        `${String(what)} needs ${String(n)} bytes at byte ${String(this.pos)}, only ${String(this.remaining)} left (truncated)`,
      );
    this.pos += n;
  }

  /** A zig-zag varint of at most `maxBytes` bytes, as a JS number (exact up to 2^53). */
  varint(maxBytes: number, what: Path): number {
    let result = 0;
    let factor = 1;
    for (let i = 0; i < maxBytes; i++) {
      if (this.pos >= this.buf.length)
        throw new AvroGuardError(`${String(what)}: varint truncated at byte ${String(this.pos)}`);
      const byte = this.buf[this.pos++] ?? 0;
      result += (byte & 0x7f) * factor;
      if ((byte & 0x80) === 0) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      factor *= 128;
    }
    throw new AvroGuardError(
      `${String(what)}: over-long varint (more than ${String(maxBytes)} bytes) at byte ${String(this.pos)}`,
    );
  }
}

const minSizes = new WeakMap<Type, number>();

/** Fewest bytes one datum of the type can occupy (0 for null, empty records, ...). */
function minSize(type: Node): number {
  const known = minSizes.get(type);
  if (known !== undefined) return known;
  minSizes.set(type, 0); // recursion guard for recursive schemas
  let size: number;
  switch (type.typeName) {
    case 'null':
      size = 0;
      break;
    case 'float':
      size = 4;
      break;
    case 'double':
      size = 8;
      break;
    case 'fixed':
      size = type.size ?? 0;
      break;
    case 'record':
    case 'error':
      size = (type.fields ?? []).reduce((sum, f) => sum + minSize(f.type as Node), 0);
      break;
    default:
      if (type.typeName.startsWith('logical:') && type.underlyingType) size = minSize(type.underlyingType);
      else size = 1; // every varint, length, count or index takes at least one byte
  }
  minSizes.set(type, size);
  return size;
}

function skipString(r: Reader, path: Path): void {
  const n = r.varint(10, path);
  if (n < 0) throw new AvroGuardError(`${String(path)}: negative length ${String(n)}`);
  r.skip(n, path);
}

// The fast pass walks without building field paths (string building per field would dominate the cost); only when
// it fails is the datum walked again with paths, for the error message.
type Path = string | undefined;

const containers = new Set(['record', 'error', 'array', 'map']);

function walk(type: Node, r: Reader, path: Path, depth: number): void {
  if (depth > r.limits.maxDepth && (containers.has(type.typeName) || type.types !== undefined)) {
    throw new AvroGuardError(`${String(path)}: nested deeper than ${String(r.limits.maxDepth)} levels`);
  }
  switch (type.typeName) {
    case 'null':
      return;
    case 'boolean': {
      const at = r.pos;
      r.skip(1, path);
      if ((r.buf[at] ?? 0) > 1)
        throw new AvroGuardError(`${String(path)}: boolean byte ${String(r.buf[at])} is not 0 or 1`);
      return;
    }
    case 'int': {
      const v = r.varint(5, path);
      if (v < -2147483648 || v > 2147483647)
        throw new AvroGuardError(`${String(path)}: ${String(v)} does not fit an int`);
      return;
    }
    case 'long':
    case 'abstract:long': {
      // the exact long (exact-long.ts)
      const at = r.pos;
      r.varint(10, path);
      // A tenth byte can only carry the 64th bit: anything above does not fit a long (Java refuses it too).
      if (r.pos - at === 10 && (r.buf[r.pos - 1] ?? 0) > 1)
        throw new AvroGuardError(`${String(path)}: varint at byte ${String(at)} does not fit a long`);
      return;
    }
    case 'float':
      r.skip(4, path);
      return;
    case 'double':
      r.skip(8, path);
      return;
    case 'bytes':
    case 'string':
      skipString(r, path);
      return;
    case 'fixed':
      r.skip(type.size ?? 0, path);
      return;
    case 'enum': {
      const i = r.varint(5, path);
      const count = type.symbols?.length ?? 0;
      if (i < 0 || i >= count)
        throw new AvroGuardError(`${String(path)}: enum index ${String(i)} out of range (${String(count)} symbols)`);
      return;
    }
    case 'record':
    case 'error':
      for (const field of type.fields ?? [])
        walk(
          field.type,
          r,
          path === undefined ? undefined : `${path}.${(field as { name?: string }).name ?? '?'}`,
          depth + 1,
        );
      return;
    case 'array':
    case 'map': {
      const item = (type.typeName === 'array' ? type.itemsType : type.valuesType) as Node;
      const perItem = minSize(item) + (type.typeName === 'map' ? 1 : 0); // map keys are strings
      for (;;) {
        let count = r.varint(10, path);
        if (count === 0) return;
        if (count < 0) {
          count = -count;
          const blockBytes = r.varint(10, path);
          if (blockBytes < 0 || blockBytes > r.remaining)
            throw new AvroGuardError(
              `${String(path)}: block size ${String(blockBytes)} exceeds the ${String(r.remaining)} bytes left`,
            );
        }
        if (perItem > 0 && count * perItem > r.remaining) {
          throw new AvroGuardError(
            `${String(path)}: declares ${String(count)} items, more than the ${String(r.remaining)} bytes left can hold`,
          );
        }
        if ((r.itemsLeft -= count) < 0) {
          throw new AvroGuardError(
            `${String(path)}: declares ${String(count)} items, beyond the record's budget of ${String(r.limits.maxItems)} array items and map entries`,
          );
        }
        for (let i = 0; i < count; i++) {
          if (type.typeName === 'map') skipString(r, path === undefined ? undefined : `${path}{key}`);
          walk(item, r, path === undefined ? undefined : `${path}[${String(i)}]`, depth + 1);
        }
      }
    }
    default: {
      if (type.types) {
        const branch = r.varint(5, path);
        const chosen = type.types[branch];
        if (!chosen)
          throw new AvroGuardError(
            `${String(path)}: union branch ${String(branch)} out of range (${String(type.types.length)} branches)`,
          );
        walk(chosen, r, path, depth + 1);
        return;
      }
      if (type.underlyingType) {
        walk(type.underlyingType, r, path, depth);
        return;
      }
      throw new AvroGuardError(`${String(path)}: unsupported Avro type ${type.typeName}`);
    }
  }
}

/**
 * Throws AvroGuardError unless `buf[start..end]` is exactly one datum of `type` (no missing, no trailing bytes) within
 * the limits.
 */
export function checkDatum(
  type: Type,
  buf: Buffer,
  start: number,
  limits: DatumLimits = defaultDatumLimits,
  end = buf.length,
): void {
  const plan = flatPlanOf(type);
  if (plan !== undefined && plan.depth <= limits.maxDepth && followsPlan(plan.ops, buf, start, end)) return;
  walkDatum(type, end === buf.length ? buf : buf.subarray(0, end), start, limits);
}

/** checkDatum by the walk alone (exported for the tests that hold the flat plan to it). */
export function walkDatum(type: Type, buf: Buffer, start: number, limits: DatumLimits = defaultDatumLimits): void {
  const check = (path: Path): void => {
    const reader = new Reader(buf, start, limits);
    walk(type, reader, path, 0);
    if (reader.remaining > 0) throw new AvroGuardError(`${String(reader.remaining)} trailing byte(s) after the datum`);
  };
  try {
    check(undefined);
  } catch (error) {
    if (error instanceof AvroGuardError) check('$'); // the same walk again, naming where it failed
    throw error;
  }
}

// A schema without arrays, maps or recursion (records of primitives, enums, fixed and unions of those: most
// records) is checked by a flat plan instead of the walk: one op per value, two ints each, run in one loop (a
// union is followed by its branches' ops). A datum the plan refuses is walked again, to say why.
const op = {
  null: 0,
  boolean: 1,
  int: 2,
  long: 3,
  float: 4,
  double: 5,
  string: 6,
  fixed: 7,
  enum: 8,
  union: 9,
} as const;

interface FlatPlan {
  readonly ops: Int32Array;
  /** Nesting of its deepest record or union, as the walk counts it. */
  readonly depth: number;
}

const flatPlans = new WeakMap<Type, FlatPlan | null>();

function flatPlanOf(type: Type): FlatPlan | undefined {
  let plan = flatPlans.get(type);
  if (plan === undefined) {
    const ops: number[] = [];
    const depth = planInto(type, ops, 0, new Set());
    plan = depth < 0 ? null : { ops: Int32Array.from(ops), depth };
    flatPlans.set(type, plan);
  }
  return plan ?? undefined;
}

/** Appends the ops of `type` at `depth`; returns the deepest container depth, or -1 when no flat plan fits it. */
function planInto(type: Node, ops: number[], depth: number, inside: Set<Node>): number {
  const single = singleOp(type);
  if (single !== undefined) {
    ops.push(...single);
    return 0;
  }
  if (type.typeName === 'record' || type.typeName === 'error') {
    if (inside.has(type)) return -1; // recursive
    inside.add(type);
    let deepest = depth;
    for (const field of type.fields ?? []) {
      const d = planInto(field.type, ops, depth + 1, inside);
      if (d < 0) return -1;
      deepest = Math.max(deepest, d);
    }
    inside.delete(type);
    return deepest;
  }
  if (type.types !== undefined) {
    const branches = type.types.map((t) => singleOp(t as Node));
    if (branches.some((b) => b === undefined)) return -1;
    ops.push(op.union, branches.length, ...branches.flatMap((b) => b ?? []));
    return depth;
  }
  if (type.underlyingType !== undefined && !containers.has(type.typeName))
    return planInto(type.underlyingType, ops, depth, inside);
  return -1;
}

/** The one op of a value that holds no other value. */
function singleOp(type: Node): [number, number] | undefined {
  switch (type.typeName) {
    case 'null':
      return [op.null, 0];
    case 'boolean':
      return [op.boolean, 0];
    case 'int':
      return [op.int, 0];
    case 'long':
    case 'abstract:long':
      return [op.long, 0];
    case 'float':
      return [op.float, 0];
    case 'double':
      return [op.double, 0];
    case 'bytes':
    case 'string':
      return [op.string, 0];
    case 'fixed':
      return [op.fixed, type.size ?? 0];
    case 'enum':
      return [op.enum, type.symbols?.length ?? 0];
    default:
      return type.typeName.startsWith('logical:') && type.underlyingType !== undefined
        ? singleOp(type.underlyingType)
        : undefined;
  }
}

/** Where the last varint read by readVarint ended (-1: truncated or too long). */
let varintEnd = 0;

/** The zig-zag varint at `pos` of at most `maxBytes` bytes; sets varintEnd. */
function readVarint(buf: Buffer, pos: number, maxBytes: number): number {
  let result = 0;
  let factor = 1;
  const end = Math.min(buf.length, pos + maxBytes);
  for (let at = pos; at < end; at++) {
    const byte = buf[at] as number;
    result += (byte & 0x7f) * factor;
    if (byte < 0x80) {
      varintEnd = at + 1;
      return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
    }
    factor *= 128;
  }
  varintEnd = -1;
  return 0;
}

/** True when `buf[pos..end]` is exactly one datum of the plan (a varint may be read past `end`: the check after each
 * op refuses it). */
function followsPlan(ops: Int32Array, buf: Buffer, pos: number, end: number): boolean {
  for (let k = 0; k < ops.length; k += 2) {
    let kind = ops[k] as number;
    let arg = ops[k + 1] as number;
    if (kind === op.union) {
      const branch = readVarint(buf, pos, 5);
      if (varintEnd < 0 || branch < 0 || branch >= arg) return false;
      pos = varintEnd;
      const chosen = k + 2 + 2 * branch;
      k += 2 * arg;
      kind = ops[chosen] as number;
      arg = ops[chosen + 1] as number;
    }
    switch (kind) {
      case op.null:
        break;
      case op.boolean:
        if (pos >= end || (buf[pos] as number) > 1) return false;
        pos++;
        break;
      case op.int: {
        const v = readVarint(buf, pos, 5);
        if (varintEnd < 0 || v < -2147483648 || v > 2147483647) return false;
        pos = varintEnd;
        break;
      }
      case op.long:
        readVarint(buf, pos, 10);
        if (varintEnd < 0 || (varintEnd - pos === 10 && (buf[varintEnd - 1] as number) > 1)) return false;
        pos = varintEnd;
        break;
      case op.float:
        pos += 4;
        break;
      case op.double:
        pos += 8;
        break;
      case op.fixed:
        pos += arg;
        break;
      case op.string: {
        const n = readVarint(buf, pos, 10);
        if (varintEnd < 0 || n < 0 || n > end - varintEnd) return false;
        pos = varintEnd + n;
        break;
      }
      case op.enum: {
        const i = readVarint(buf, pos, 5);
        if (varintEnd < 0 || i < 0 || i >= arg) return false;
        pos = varintEnd;
        break;
      }
      default:
        return false;
    }
    if (pos > end) return false;
  }
  return pos === end;
}
