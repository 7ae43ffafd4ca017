// Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary body.
import avro from 'avsc';
import type { Type } from 'avsc';
import { exactLongType } from './exact-long.ts';

export const headerBytes = 5;

/** The one reader of the frame. Why `bytes` are not a Confluent frame, or undefined when they are. */
export function frameProblem(
  bytes: Buffer,
): { readonly reason: 'truncated' | 'bad-magic-byte'; readonly detail: string } | undefined {
  if (bytes.length < headerBytes)
    return { reason: 'truncated', detail: `value has ${String(bytes.length)} bytes, fewer than the 5-byte header` };
  if (bytes[0] !== 0) return { reason: 'bad-magic-byte', detail: `magic byte is ${String(bytes[0])}, expected 0` };
  return undefined;
}

/** The writer schema id of a well-formed frame (starting at `at`). */
export const frameSchemaId = (bytes: Buffer, at = 0): number => bytes.readUInt32BE(at + 1);

/** The Avro body of a well-formed frame (no copy). */
export const frameBody = (bytes: Buffer): Buffer => bytes.subarray(headerBytes);

/**
 * Parses an Avro schema (JSON text or object) into an avsc Type; logical types stay in their underlying form and
 * longs are exact (see exact-long.ts).
 */
export function parseAvroSchema(schema: string | object): Type {
  // A fresh registry per call: avsc adds the schema's named types to it.
  return avro.Type.forSchema(
    typeof schema === 'string' ? (JSON.parse(schema) as avro.Schema) : (schema as avro.Schema),
    { registry: { long: exactLongType }, typeHook: exactLongs },
  );
}

const numericNames = new Set(['int', 'float', 'double']);
const branchName = (branch: unknown): unknown =>
  typeof branch === 'object' && branch !== null ? (branch as { type?: unknown }).type : branch;

/**
 * The registry entry covers `"long"`; `{"type": "long", ...}` (e.g. with a logical type we leave in its underlying
 * form) needs the hook. avsc wraps unions whose branches it cannot tell apart by a value's JavaScript type
 * ({"double": 1}); with the exact long, a union of long and another number type would no longer be seen as such and
 * would refuse integers as ambiguous. Such unions stay wrapped, as they were with avsc's own long.
 */
function exactLongs(schema: avro.Schema, opts: avro.ForSchemaOptions): Type | undefined {
  if (!Array.isArray(schema))
    return typeof schema === 'object' && (schema as { type?: unknown }).type === 'long' ? exactLongType : undefined;
  const names = schema.map(branchName);
  if (!names.includes('long') || !names.some((name) => numericNames.has(name as string))) return undefined;
  return new avro.types.WrappedUnionType(schema, opts);
}

let scratch = Buffer.allocUnsafe(64 * 1024);

/** Encodes into a reused scratch buffer (grown on demand), then copies out exactly the framed bytes. */
export function encodeFramed(type: Type, schemaId: number, value: unknown): Buffer {
  for (;;) {
    const end = type.encode(value, scratch, headerBytes);
    if (end > 0) {
      scratch[0] = 0;
      scratch.writeUInt32BE(schemaId, 1);
      return Buffer.from(scratch.subarray(0, end));
    }
    scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, headerBytes - end)); // avsc returns -(bytes needed)
  }
}
