// Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary body.
import avro from 'avsc';
import type { Type } from 'avsc';

export const headerBytes = 5;

/** Parses an Avro schema (JSON text or object) into an avsc Type; logical types stay in their underlying form. */
export function parseAvroSchema(schema: string | object): Type {
  return avro.Type.forSchema(typeof schema === 'string' ? (JSON.parse(schema) as avro.Schema) : (schema as avro.Schema));
}

export function encodeFramed(type: Type, schemaId: number, value: unknown): Buffer {
  const body = type.toBuffer(value);
  const framed = Buffer.allocUnsafe(headerBytes + body.length);
  framed[0] = 0;
  framed.writeUInt32BE(schemaId, 1);
  body.copy(framed, headerBytes);
  return framed;
}
