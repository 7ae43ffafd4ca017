// @platformatic/kafka is imported through kafka-library.ts, which defers the compiling of its option validators to
// their first use (deferred-validators.ts): the import must leave them uncompiled, a strict client must still be
// refused with the library's message, and Ajv2020 must compile at once again afterwards.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  baseOptionsValidator as libraryValidator,
  Consumer,
} from '../../services/lib/transport/platformatic/kafka-library.ts';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { librarySchemas } from '../../services/lib/transport/platformatic/deferred-validators.ts';

// ajv's declarations do not resolve under nodenext (its default-exported core class): typed here by what is used.
type Validate = ((data: unknown) => boolean) & { errors?: unknown };
const baseOptionsValidator = libraryValidator as unknown as Validate;

test('the library was imported with its validators not compiled', () => {
  // A compiled ajv validator carries its schema environment; a deferred one gets it only when first called.
  assert.equal('schemaEnv' in baseOptionsValidator, false);
  assert.equal(baseOptionsValidator({ clientId: 'x', bootstrapBrokers: ['127.0.0.1:9092'] }), true);
  assert.equal(baseOptionsValidator({ clientId: 5, bootstrapBrokers: ['127.0.0.1:9092'] }), false);
  assert.match(JSON.stringify(baseOptionsValidator.errors), /clientId/);
});

test("a strict client is still refused with the library's message", () => {
  assert.throws(
    () => new Consumer({ clientId: 'x', groupId: 'g', bootstrapBrokers: 5 as unknown as string[], strict: true }),
    /bootstrapBrokers must be array/,
  );
  const consumer = new Consumer({ clientId: 'x', groupId: 'g', bootstrapBrokers: ['127.0.0.1:1'], strict: true });
  void consumer.close();
});

test('Ajv2020 compiles at once again after the import', () => {
  assert.equal(Object.prototype.hasOwnProperty.call(Ajv2020.prototype, 'compile'), false);
  const validate = (new Ajv2020() as unknown as { compile: (schema: object) => Validate }).compile({ type: 'string' });
  assert.equal('schemaEnv' in validate, true);
});

test('every deferred schema is valid against the JSON-Schema meta-schema (its first compile does not check)', () => {
  const schemas = librarySchemas();
  assert.ok(schemas.length >= 30, `${String(schemas.length)} schemas deferred`);
  const checker = new Ajv2020({ strict: false }) as unknown as {
    validateSchema: (schema: unknown) => boolean;
    errorsText: () => string;
  };
  for (const schema of schemas) assert.equal(checker.validateSchema(schema), true, checker.errorsText());
  // A broken schema is what that check would catch.
  assert.equal(checker.validateSchema({ type: 'no-such-type' }), false);
});
