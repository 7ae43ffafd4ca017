// @platformatic/kafka compiles about 35 JSON-schema validators of its options when it is imported (~0.3 s of every
// start, measured: 0.78 → 0.47 s for its import) and runs most of them only for clients made with `strict: true`,
// which hotstate never does. While it is imported (kafka-library.ts), Ajv2020's compile() returns a validator that
// compiles on its first call instead: the same answers and errors, paid only by a validator that is ever used. Such a
// compile skips checking the schema against the JSON-Schema meta-schema, which would first compile the meta-schema's
// own validator (~0.15 s): the library's schemas are constants of its code, and the tests check every one of them
// against the meta-schema (librarySchemas()).
// The library's Ajv2020 is this one as long as npm keeps a single copy of ajv (package.json pins the one it uses);
// with another copy nothing is deferred and nothing changes.
import { Ajv2020 } from 'ajv/dist/2020.js';

type Validate = ((data: unknown) => boolean) & { errors?: unknown };
type Compile = (this: Ajv2020, schema: unknown, meta?: boolean) => Validate;

const prototype = Ajv2020.prototype as unknown as { compile: Compile };
const hadOwnCompile = Object.prototype.hasOwnProperty.call(prototype, 'compile');
const compile = prototype.compile;
const deferred: unknown[] = [];

prototype.compile = function deferredCompile(schema, meta) {
  deferred.push(schema);
  let compiled: Validate | undefined;
  const validate: Validate = (data) => {
    compiled ??= compileConstant(this, schema, meta);
    const valid = compiled(data);
    validate.errors = compiled.errors;
    return valid;
  };
  return validate;
};

function compileConstant(ajv: Ajv2020, schema: unknown, meta: boolean | undefined): Validate {
  const options = (ajv as unknown as { opts: { validateSchema: boolean | 'log' | undefined } }).opts;
  const validateSchema = options.validateSchema;
  options.validateSchema = false;
  try {
    return compile.call(ajv, schema, meta);
  } finally {
    options.validateSchema = validateSchema;
  }
}

/** Ajv2020 compiles at once again (called once the library is imported). */
export function compileAtOnceAgain(): void {
  if (hadOwnCompile) prototype.compile = compile;
  else delete (prototype as Partial<typeof prototype>).compile;
}

/** The schemas whose validators were deferred. */
export const librarySchemas = (): readonly unknown[] => deferred;
