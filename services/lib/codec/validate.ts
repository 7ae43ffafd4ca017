// Explains why a value does not match an Avro schema: every failing field path with a reason, including fields
// the schema does not declare (avsc would silently drop those on encode).
import type { Type } from 'avsc';
import type { Problem } from '../errors.ts';
import type { AvroNode } from './avro-types.ts';

type AnyType = AvroNode;

const describeType = (type: AnyType): string => {
  if (type.typeName === 'enum') return `one of ${(type.symbols ?? []).join(', ')}`;
  if (type.typeName.startsWith('union')) return (type.types ?? []).map((t) => describeType(t as AnyType)).join(' or ');
  if (type.typeName === 'record' || type.typeName === 'error') return `a ${type.name ?? 'record'} record (object)`;
  return type.typeName.replace(/^(logical|abstract):/, '');
};

const describeValue = (value: unknown): string => {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return `the ${typeof value} ${String(value)}`;
  return Array.isArray(value) ? 'an array' : `an ${typeof value}`;
};

function reasonFor(value: unknown, type: AnyType): string {
  if (value === undefined) return `missing: required ${describeType(type)} field without default`;
  if (value === null) return `null is not allowed here; expected ${describeType(type)}`;
  if (type.typeName === 'enum' && typeof value === 'string')
    return `${JSON.stringify(value)} is not a symbol of this enum; expected ${describeType(type)}`;
  if (type.typeName === 'int' && typeof value === 'number' && Number.isInteger(value))
    return `${String(value)} is outside the int range (-2^31 .. 2^31-1)`;
  if (type.typeName === 'abstract:long' && typeof value === 'number')
    return `${String(value)} is not an exact integer: give longs beyond 2^53 as integer literals (JSON) or bigints`;
  if (type.typeName === 'abstract:long' && typeof value === 'bigint')
    return `${String(value)} is outside the long range (-2^63 .. 2^63-1)`;
  return `expected ${describeType(type)}, got ${describeValue(value)}`;
}

const joinPath = (path: readonly string[]): string => path.join('.');

/** Every problem of `value` against `type`; an empty list means valid and fully declared. */
export function validateValue(type: Type, value: unknown): Problem[] {
  // Fast path: a single pass without hooks; the detailed (slower) diagnosis runs only for invalid values.
  if (type.isValid(value, { noUndeclaredFields: true })) return [];
  const problems: Problem[] = [];
  type.isValid(value, {
    errorHook: (path: string[], bad: unknown, badType: Type) => {
      problems.push({ path: joinPath(path), reason: reasonFor(bad, badType) });
    },
  });
  collectUndeclared(type, value, [], problems);
  return problems;
}

function collectUndeclared(type: AnyType, value: unknown, path: string[], problems: Problem[]): void {
  if (value === null || typeof value !== 'object') return;
  switch (type.typeName) {
    case 'record':
    case 'error': {
      const fields = type.fields ?? [];
      const declared = new Set(fields.map((f) => f.name));
      for (const key of Object.keys(value)) {
        if (!declared.has(key))
          problems.push({
            path: joinPath([...path, key]),
            reason: `unknown field: the schema ${type.name ?? ''} declares ${[...declared].join(', ')}`,
          });
      }
      for (const field of fields)
        collectUndeclared(field.type, (value as Record<string, unknown>)[field.name], [...path, field.name], problems);
      return;
    }
    case 'array':
      (value as unknown[]).forEach((item, i) => {
        collectUndeclared(type.itemsType as AnyType, item, [...path, String(i)], problems);
      });
      return;
    case 'map':
      for (const [key, item] of Object.entries(value))
        collectUndeclared(type.valuesType as AnyType, item, [...path, key], problems);
      return;
    default:
      if (type.typeName.startsWith('union')) {
        const branch = (type.types ?? []).find((t) => t.isValid(value));
        if (branch) collectUndeclared(branch, value, path, problems);
      }
  }
}
