// Avro values as JSON, without loss. Longs beyond ±(2^53 - 1) are bigints in hotstate and travel as exact JSON number
// literals (what Java's Jackson writes; a JavaScript client reads them exactly with JSON.parse's reviver `source`).
// NaN and ±Infinity, which JSON cannot express, are answered as the strings "NaN", "Infinity" and "-Infinity".
// Parsing keeps unsafe integer literals exact (as bigints) and refuses numbers that overflow a double (1e400),
// naming the field: such a literal cannot have meant Infinity. `__proto__` and `constructor.prototype` keys are
// refused (prototype poisoning), as Fastify's own parser does.
import secureJson from 'secure-json-parse';

export class JsonNumberError extends Error {
  override name = 'JsonNumberError';
}

declare global {
  interface JSON {
    /** Node 21+: a value JSON.stringify writes as the given JSON text (not yet in TypeScript's es2024 library). */
    rawJSON(text: string): unknown;
  }
}

const integerLiteral = /^-?\d+$/;

function reviveExact(this: unknown, key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number') return value;
  const source = context?.source ?? String(value);
  if (!Number.isFinite(value))
    throw new JsonNumberError(
      `${key === '' ? 'the value' : `field ${JSON.stringify(key)}`}: ${source} is beyond the range of a double`,
    );
  if (!Number.isSafeInteger(value) && integerLiteral.test(source)) return BigInt(source);
  return value;
}

/** JSON.parse keeping unsafe integers exact (bigint); throws JsonNumberError for a number that overflows a double. */
export function parseJsonExact(text: string): unknown {
  return secureJson.parse(text, reviveExact, { protoAction: 'error', constructorAction: 'error' });
}

function replaceExact(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return JSON.rawJSON(value.toString());
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value); // "NaN", "Infinity", "-Infinity"
  if (value === 0 && Object.is(value, -0)) return JSON.rawJSON('-0.0'); // JSON.stringify would drop the sign
  return value;
}

/** JSON.stringify for values that may hold bigints and non-finite numbers (see the module comment). */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(value, replaceExact);
}
