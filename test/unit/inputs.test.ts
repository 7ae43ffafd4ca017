// Parsing of emit input (NDJSON updates) and watched dataset files, and value validation messages.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAvroSchema } from '../../services/lib/codec/confluent-avro.ts';
import { validateValue } from '../../services/lib/codec/validate.ts';
import { isHotstateError } from '../../services/lib/errors.ts';
import { formatOf, parseDatasetFile } from '../../services/lib/input/dataset-file.ts';
import { parseNdjsonUpdates } from '../../services/lib/input/ndjson.ts';
import { schemaText } from '../helpers/datasets.ts';

const prices = parseAvroSchema(schemaText('instrument-prices', 2));
const flags = parseAvroSchema(schemaText('feature-flags', 2));

describe('NDJSON updates', () => {
  test('upserts, both delete forms, headers, blank lines; problems carry line numbers', () => {
    const input = Buffer.from(
      [
        '{"key":"A","value":{"x":1},"headers":{"source":"s"}}',
        '',
        '{"key":"B","value":null}',
        '{"key":"C","delete":true}',
        '{"key":"D"}',
        '{"key":5,"value":{}}',
        '[1,2]',
        '{"key":"E","value":{},"extra":1}',
        '{"key":"F","value":{},"headers":{"owner":"x"}}',
        '{"key":"G","value":[]}',
      ].join('\n'),
    );
    const { updates, problems } = parseNdjsonUpdates(input);
    assert.deepEqual(
      updates.map((u) => [u.line, u.update.key, u.update.value === null]),
      [
        [1, 'A', false],
        [3, 'B', true],
        [4, 'C', true],
      ],
    );
    assert.deepEqual(updates[0]?.update.headers, { source: 's' });
    assert.deepEqual(
      problems.map((p) => [p.at, p.path]),
      [
        [5, 'value'],
        [6, 'key'],
        [7, ''],
        [8, 'extra'],
        [9, 'headers'],
        [10, 'value'],
      ],
    );
  });

  test('invalid UTF-8 is reported for its line only', () => {
    const input = Buffer.concat([
      Buffer.from('{"key":"A","value":null}\n{"key":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('","value":null}\n'),
    ]);
    const { updates, problems } = parseNdjsonUpdates(input);
    assert.equal(updates.length, 1);
    assert.deepEqual(problems, [{ at: 2, path: '', reason: 'the line is not valid UTF-8' }]);
  });
});

describe('dataset files', () => {
  const refuse = (fn: () => unknown, reason: RegExp): void => {
    assert.throws(
      fn,
      (error: unknown) =>
        isHotstateError(error, 'HOTSTATE_ERR_INPUT_MALFORMED') &&
        reason.test(error.message) &&
        /nothing emitted/.test(error.message),
    );
  };

  test('formats come from the extension', () => {
    assert.deepEqual(['a.json', 'a.NDJSON', 'a.jsonl', 'a.csv', 'a.txt'].map(formatOf), [
      'json',
      'ndjson',
      'ndjson',
      'csv',
      undefined,
    ]);
  });

  test('JSON as a map or an array with a key field', () => {
    const map = parseDatasetFile('f', Buffer.from('{"a":{"enabled":true}}'), { format: 'json', type: flags });
    assert.deepEqual([...map], [['a', { enabled: true }]]);
    const array = parseDatasetFile('f', Buffer.from('[{"name":"a","enabled":true}]'), {
      format: 'json',
      type: flags,
      keyField: 'name',
    });
    assert.deepEqual([...array], [['a', { enabled: true }]], 'key field dropped when the schema does not declare it');
    const kept = parseDatasetFile('f', Buffer.from('[{"instrument":"X","price":1}]'), {
      format: 'json',
      type: prices,
      keyField: 'instrument',
    });
    assert.deepEqual([...kept], [['X', { instrument: 'X', price: 1 }]], 'key field kept when the schema declares it');
  });

  test('half-written and inconsistent files are refused whole', () => {
    refuse(() => parseDatasetFile('f', Buffer.from(''), { format: 'json', type: flags }), /the file is empty/);
    refuse(
      () => parseDatasetFile('f', Buffer.from('{"a":{"enab'), { format: 'json', type: flags }),
      /not complete JSON/,
    );
    refuse(
      () => parseDatasetFile('f', Buffer.from('{"key":"a"}'), { format: 'ndjson', type: flags }),
      /last line has no newline/,
    );
    refuse(
      () => parseDatasetFile('f', Buffer.from('{"key":"a"}\n{"key":"a"}\n'), { format: 'ndjson', type: flags }),
      /line 2: duplicate key "a"/,
    );
    refuse(
      () => parseDatasetFile('f', Buffer.from('{"nokey":1}\n'), { format: 'ndjson', type: flags }),
      /line 1: key field "key" is missing/,
    );
    refuse(
      () => parseDatasetFile('f', Buffer.from('key,enabled\na,true'), { format: 'csv', type: flags }),
      /last line has no newline/,
    );
    refuse(
      () => parseDatasetFile('f', Buffer.from('key,enabled\na,yes\n'), { format: 'csv', type: flags }),
      /row 2 column enabled: "yes" is not true or false/,
    );
    refuse(
      () => parseDatasetFile('f', Buffer.from([0xff, 0x0a]), { format: 'ndjson', type: flags }),
      /not valid UTF-8/,
    );
  });

  test('CSV cells become typed values; empty nullable cells become null; complex cells are JSON', () => {
    const csv = 'key,enabled,rolloutPercent,description,allowList,owner\nf1,true,25,"new, shiny","[""t1""]",\n';
    assert.deepEqual(
      [...parseDatasetFile('f', Buffer.from(csv), { format: 'csv', type: flags })],
      [['f1', { enabled: true, rolloutPercent: 25, description: 'new, shiny', allowList: ['t1'], owner: null }]],
    );
  });
});

describe('value validation', () => {
  test('nested paths, ranges and union branches', () => {
    const problems = validateValue(flags, {
      enabled: 'yes',
      rolloutPercent: 2 ** 31,
      allowList: ['ok', 3],
      owner: 5,
      description: 'd',
    });
    assert.deepEqual(
      problems.map((p) => `${p.path}: ${p.reason}`),
      [
        'enabled: expected boolean, got the string "yes"',
        'rolloutPercent: 2147483648 is outside the int range (-2^31 .. 2^31-1)',
        'allowList.1: expected string, got the number 3',
        'owner: expected null or string, got the number 5',
      ],
    );
    assert.deepEqual(
      validateValue(flags, { enabled: true, rolloutPercent: 5 }),
      [],
      'fields with defaults may be omitted',
    );
  });
});
