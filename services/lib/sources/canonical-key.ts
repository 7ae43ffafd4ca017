// The text of a key written as Avro (Debezium, Kafka Connect, Java producers): the key readers use in `get`, URLs,
// the CLI and change feeds. A one-field key is that field's value as text; a composite key is canonical JSON of its
// fields in schema order; a key that is not a record (a plain Avro string or long) is its value as text. Bytes are
// lowercase hex. Equal decoded keys give equal text, so a key schema change (a new id framing the same entity) does
// not split an entity in two.
import { stringifyJson } from '../codec/json-values.ts';

type Scalar = string | number | bigint | boolean | null;

function scalarOf(value: unknown): Scalar {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value.toString('hex');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return stringifyJson(plain(value));
  return value as Scalar;
}

/** Records and unions (avsc wraps ambiguous ones as {"long": 1}) as plain JSON values, bytes as hex. */
function plain(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('hex');
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

export function canonicalKey(decoded: unknown): string {
  if (decoded === null || typeof decoded !== 'object' || Buffer.isBuffer(decoded) || decoded instanceof Date)
    return String(scalarOf(decoded));
  const fields = Object.values(decoded);
  if (fields.length === 1) {
    const only = scalarOf(fields[0]);
    return typeof only === 'string' ? only : String(only);
  }
  return stringifyJson(plain(decoded));
}
