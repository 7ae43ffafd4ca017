// Foreign records without a broker: Avro keys in the Confluent frame become canonical key text, Debezium envelopes
// and flattened rows become upserts and tombstones, and the connector settings and LSNs are checked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFramed, parseAvroSchema } from '../../services/lib/codec/confluent-avro.ts';
import { ForeignRecords } from '../../services/lib/core/foreign-records.ts';
import { checkRecords, defaultRecordLimits } from '../../services/lib/core/poison.ts';
import { WriterSchemas, type SchemaSource } from '../../services/lib/core/writer-schemas.ts';
import { canonicalKey } from '../../services/lib/sources/canonical-key.ts';
import { changeShapeOf } from '../../services/lib/sources/change-shape.ts';
import { cdcSourceProblems, debeziumConnectorConfig } from '../../services/lib/cdc/connector-config.ts';
import { formatLsn, parseLsn } from '../../services/lib/cdc/source-position.ts';
import { FetchedRecord } from '../../services/lib/transport/transport.ts';

const row = {
  type: 'record',
  name: 'Value',
  fields: [
    { name: 'id', type: 'int' },
    { name: 'name', type: 'string' },
  ],
};
const envelope = {
  type: 'record',
  name: 'Envelope',
  fields: [
    { name: 'before', type: ['null', row], default: null },
    { name: 'after', type: ['null', 'Value'], default: null },
    {
      name: 'source',
      type: {
        type: 'record',
        name: 'Source',
        fields: [
          { name: 'lsn', type: ['null', 'long'], default: null },
          { name: 'txId', type: ['null', 'long'], default: null },
          { name: 'table', type: 'string' },
        ],
      },
    },
    { name: 'op', type: 'string' },
  ],
};
const flattened = {
  ...row,
  name: 'Flat',
  fields: [...row.fields, { name: '__deleted', type: ['null', 'string'], default: null }],
};
const intKey = { type: 'record', name: 'Key', fields: [{ name: 'id', type: 'int' }] };
const compositeKey = {
  type: 'record',
  name: 'Key2',
  fields: [
    { name: 'a', type: 'string' },
    { name: 'b', type: 'long' },
  ],
};

/** Ids 1..: keys under t-key, values under t-value, as a registry would answer. */
function schemaSource(): SchemaSource {
  const texts = new Map<number, string>([
    [1, JSON.stringify(intKey)],
    [2, JSON.stringify(envelope)],
    [3, JSON.stringify(flattened)],
    [4, JSON.stringify(compositeKey)],
  ]);
  const subjects = new Map([
    ['t-key', new Set([1, 4])],
    ['t-value', new Set([2, 3])],
  ]);
  return {
    schemaText: (id) => Promise.resolve(texts.get(id)),
    subjectIds: (subject) => Promise.resolve(subjects.get(subject) ?? new Set()),
  };
}

const record = (offset: number, key: Buffer | null, value: Buffer | null): FetchedRecord =>
  FetchedRecord.of({ offset, timestamp: 1, key, value });

test('canonical key text: one field is its value as text, composite keys are JSON in field order', () => {
  assert.equal(canonicalKey({ id: 42 }), '42');
  assert.equal(canonicalKey({ id: 9007199254740993n }), '9007199254740993');
  assert.equal(canonicalKey({ id: 'a/b c' }), 'a/b c');
  assert.equal(canonicalKey({ id: Buffer.from([0xca, 0xfe]) }), 'cafe');
  assert.equal(canonicalKey({ a: 'x', b: 2 }), '{"a":"x","b":2}');
  assert.equal(canonicalKey({ b: 2, a: 'x' }), '{"b":2,"a":"x"}', 'the schema order, not sorted');
  assert.equal(canonicalKey({ a: 'x', b: 9007199254740993n }), '{"a":"x","b":9007199254740993}');
  assert.equal(canonicalKey('plain'), 'plain');
  assert.equal(canonicalKey(7), '7');
});

test('the shape of a value schema: Debezium envelope, flattened row with __deleted, or plain', () => {
  assert.equal(changeShapeOf(parseAvroSchema(envelope)), 'envelope');
  assert.equal(changeShapeOf(parseAvroSchema(flattened)), 'flattened');
  assert.equal(changeShapeOf(parseAvroSchema(row)), 'plain');
  assert.equal(changeShapeOf(parseAvroSchema('"string"')), 'plain');
});

test('foreign records: Avro keys become text, op d and __deleted become tombstones, own records pass untouched', async () => {
  const source = schemaSource();
  const values = new WriterSchemas(source, 't-value');
  const foreign = new ForeignRecords('t', new WriterSchemas(source, 't-key'));
  const key = (id: number) => encodeFramed(parseAvroSchema(intKey), 1, { id });
  const change = (op: string, after: unknown) =>
    encodeFramed(parseAvroSchema(envelope), 2, {
      before: null,
      after,
      source: { lsn: 100, txId: 7, table: 'items' },
      op,
    });
  const records = [
    record(0, key(1), change('r', { id: 1, name: 'one' })),
    record(1, key(2), change('c', { id: 2, name: 'two' })),
    record(2, key(1), change('d', null)),
    record(3, key(1), null), // the tombstone after a delete
    record(
      4,
      encodeFramed(parseAvroSchema(compositeKey), 4, { a: 'x', b: 3n }),
      encodeFramed(parseAvroSchema(flattened), 3, { id: 3, name: 'gone', __deleted: 'true' }),
    ),
    record(5, Buffer.from('own-key'), change('u', { id: 5, name: 'five' })),
    record(6, encodeFramed(parseAvroSchema(intKey), 99, { id: 9 }), change('c', { id: 9, name: 'nine' })),
  ];
  const unknown = new Set<number>();
  checkRecords(records, values, defaultRecordLimits, unknown);
  await values.settle([...unknown]);
  await foreign.keySchemas.settle(foreign.unsettledKeyIds(records));
  const poison = checkRecords(records, values, defaultRecordLimits);
  assert.equal(poison.size, 0, 'framed keys are not refused as text');
  const out = foreign.translate(records, values, poison);
  const keyOf = (r: FetchedRecord | undefined) => r?.key?.toString('utf8');
  assert.deepEqual(out.records.slice(0, 6).map(keyOf), ['1', '2', '1', '1', '{"a":"x","b":3}', 'own-key']);
  assert.deepEqual(
    out.records.slice(0, 6).map((r) => r.valueLength < 0),
    [false, false, true, true, true, false],
  );
  assert.equal(out.records[5], records[5], 'a record with a text key and an upsert is the same object');
  assert.deepEqual(out.records[0]?.partitionKey, records[0]?.key, 'partition rules hash the log key bytes');
  assert.equal(out.poison.get(6)?.reason, 'bad-key');
  assert.match(out.poison.get(6)?.detail ?? '', /schema id 99/);
  const decoded = values.decodeChange(2, records[1]?.value as Buffer);
  assert.deepEqual({ ...(decoded.row as object) }, { id: 2, name: 'two' });
  assert.ok(decoded.source, 'an envelope keeps its source');
  assert.equal(decoded.source.op, 'c');
  assert.equal(decoded.source.txId, 7);
});

test('a hotstate topic (text keys, plain values) is returned as it is', async () => {
  const source: SchemaSource = {
    schemaText: () => Promise.resolve(JSON.stringify(row)),
    subjectIds: () => Promise.resolve(new Set([5])),
  };
  const values = new WriterSchemas(source, 'own-value');
  await values.settle([5]);
  const foreign = new ForeignRecords('own', new WriterSchemas(source, 'own-key'));
  const records = [record(0, Buffer.from('k'), encodeFramed(parseAvroSchema(row), 5, { id: 1, name: 'x' }))];
  assert.equal(foreign.translate(records, values, new Map()).records, records);
});

test('LSNs: PostgreSQL text form and numbers, both ways; nonsense refused', () => {
  assert.equal(parseLsn('16/B374D848'), 0x16b374d848n);
  assert.equal(formatLsn(0x16b374d848n), '16/B374D848');
  assert.equal(parseLsn(79882792), 79882792n);
  assert.equal(parseLsn('79882792'), 79882792n);
  assert.throws(() => parseLsn('x/y'), /HOTSTATE_ERR_CONFIG_INVALID|expected PostgreSQL's form/);
  assert.throws(() => parseLsn(-1), /expected/);
});

test('connector settings: what a view needs, and every mistake named', () => {
  const config = debeziumConnectorConfig({
    name: 'shop',
    databaseUrl: 'postgres://app:s%40cret@db.internal:5433/sales',
    tables: ['public.items'],
    registryUrl: 'http://registry:8080/apis/ccompat/v7',
  });
  assert.equal(config['database.password'], 's@cret');
  assert.equal(config['database.port'], '5433');
  assert.equal(config['database.dbname'], 'sales');
  assert.equal(config['tombstones.on.delete'], 'true');
  assert.equal(config['topic.creation.default.cleanup.policy'], 'compact');
  assert.equal(config['provide.transaction.metadata'], 'true');
  assert.equal(config['value.converter.apicurio.registry.url'], 'http://registry:8080/apis/registry/v2');
  assert.equal(config['value.converter.apicurio.registry.as-confluent'], 'true');
  assert.equal(config['key.converter.apicurio.registry.use-id'], 'contentId');
  const problems = cdcSourceProblems({
    name: 'Shop-1',
    databaseUrl: 'mysql://x@y/z',
    tables: ['items'],
    registryUrl: 'http://registry:8081',
  });
  assert.equal(problems.length, 4, problems.join('\n'));
  assert.throws(
    () => debeziumConnectorConfig({ name: 'ok', databaseUrl: 'postgres://h/', tables: [], registryUrl: 'x' }),
    /HOTSTATE_ERR_CONFIG_INVALID|tables: name at least one/,
  );
});

test("the converter's registry access: basic auth with the password by reference, the CA, and mistakes named", () => {
  const source = {
    name: 'shop',
    databaseUrl: 'postgres://app@db:5432/sales',
    tables: ['public.items'],
    registryUrl: 'https://registry:8081/apis/ccompat/v7',
  };
  const config = debeziumConnectorConfig({
    ...source,
    converterRegistry: { username: 'connect', passwordFile: '/run/secrets/connect.password', caFile: '/run/ca.pem' },
  });
  for (const side of ['key', 'value']) {
    assert.equal(config[`${side}.converter.apicurio.auth.username`], 'connect');
    assert.equal(config[`${side}.converter.apicurio.auth.password`], '${dir:/run/secrets:connect.password}');
    assert.equal(config[`${side}.converter.apicurio.rest.request.ssl.ca-bundle.location`], '/run/ca.pem');
  }
  assert.equal(debeziumConnectorConfig(source)['value.converter.apicurio.auth.username'], undefined);
  assert.deepEqual(cdcSourceProblems({ ...source, converterRegistry: { username: 'connect' } }), [
    'converter registry access: give the user and the password file together',
  ]);
  assert.match(
    cdcSourceProblems({ ...source, converterRegistry: { caFile: 'ca.pem' } }).join(),
    /converter registry CA file "ca.pem": an absolute path, as the Connect worker reads it/,
  );
});
