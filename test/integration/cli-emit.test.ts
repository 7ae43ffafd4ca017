// `hotstate emit`, `topics` and `schemas` as processes, against the real broker and registry.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { projectRoot } from '../../infra/settings.ts';
import { withAdmin } from '../helpers/kafkajs-client.ts';
import { readToEnd } from '../helpers/read-to-end.ts';
import { parseVersionToken } from '../../services/lib/version-token.ts';
import { hotstate } from '../helpers/cli.ts';
import { price, pricesTopic, schemaText } from '../helpers/datasets.ts';
import { deleteSubject, testKafka, testRegistry, uniqueTopicName } from '../helpers/infra.ts';
import { registryRequest } from '../../services/lib/registry.ts';

const line = (key: string, value: unknown): string => JSON.stringify({ key, value });

describe('hotstate emit', () => {
  test('sends every line, prints a summary and a version token, exit 0', async (t) => {
    const { topic } = await pricesTopic(t);
    const input = [line('A', price('A')), line('B', price('B')), JSON.stringify({ key: 'A', delete: true }), ''].join(
      '\n',
    );
    const result = hotstate(['emit', '-t', topic, '--source', 'nightly-batch'], input);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`sent 3 record\\(s\\) \\(2 upserts, 1 deletes\\) to ${topic}`));
    const token = /version token: (\S+)/.exec(result.stdout)?.[1] ?? '';
    assert.equal(parseVersionToken(token).topic, topic);
    const records = await readToEnd(testKafka(t), topic);
    const history = (key: string): string[] =>
      records.filter((r) => r.key?.toString() === key).map((r) => (r.value === null ? 'delete' : 'upsert'));
    assert.deepEqual({ A: history('A'), B: history('B') }, { A: ['upsert', 'delete'], B: ['upsert'] });
    assert.ok(records.every((r) => r.headers['hotstate-source'] === 'nightly-batch'));
  });

  test('a bad line anywhere: every bad line reported with its number, nothing sent, exit 3', async (t) => {
    const { topic } = await pricesTopic(t);
    const input = [
      line('A', price('A')),
      '{"key": "B", "value": {',
      line('C', { ...price('C'), currency: 'EURO' }),
      line('D', price('D')),
      '',
    ].join('\n');
    const result = hotstate(['emit', '-t', topic], input);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /^line 2: malformed JSON/m);
    assert.match(result.stderr, /^line 3 key "C" field currency: "EURO" is not a symbol/m);
    assert.match(result.stderr, /2 invalid line\(s\) of 4; nothing was sent/);
    assert.equal((await readToEnd(testKafka(t), topic)).length, 0);
  });

  test('--skip-invalid sends the good lines and reports the bad ones, exit 4', async (t) => {
    const { topic } = await pricesTopic(t);
    const input = [line('A', price('A')), 'nope', line('', price('X')), line('D', price('D'))].join('\n');
    const result = hotstate(['emit', '-t', topic, '--skip-invalid'], input);
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /^line 2: malformed JSON/m);
    assert.match(result.stderr, /^line 3 key "": the key is empty/m);
    assert.match(result.stdout, /sent 2 record\(s\).*skipped 2 invalid line\(s\)/);
    assert.deepEqual((await readToEnd(testKafka(t), topic)).map((r) => r.key?.toString()).sort(), ['A', 'D']);
  });

  test('a key that is not valid UTF-8 is refused with its line number', async (t) => {
    const { topic } = await pricesTopic(t);
    const raw = Buffer.concat([
      Buffer.from('{"key":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(
        `","value":null}\n${JSON.stringify({ key: 'x\\ud800', value: null }).replace('\\\\ud800', '\\ud800')}\n`,
      ),
    ]);
    const result = hotstate(['emit', '-t', topic], raw);
    assert.equal(result.code, 3, result.stdout + result.stderr);
    assert.match(result.stderr, /^line 1: the line is not valid UTF-8/m);
    assert.match(result.stderr, /^line 2 key ".*": the key is not valid UTF-8/m);
  });

  test('a file argument, and usage errors exit 2', async (t) => {
    const { topic } = await pricesTopic(t);
    const dir = mkdtempSync(join(tmpdir(), 'hotstate-emit-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    writeFileSync(join(dir, 'in.ndjson'), `${line('A', price('A'))}\n`);
    assert.equal(hotstate(['emit', '-t', topic, '-f', join(dir, 'in.ndjson')]).code, 0);
    assert.equal(hotstate(['emit']).code, 2, 'missing --topic');
    const noBrokers = hotstate(['emit', '-t', topic, '--brokers', '']);
    assert.equal(noBrokers.code, 2);
    assert.match(noBrokers.stderr, /HOTSTATE_ERR_CONFIG_INVALID: no Kafka brokers/);
  });
});

describe('hotstate topics', () => {
  test('ensure creates a compacted topic; verify names every unsafe setting (exit 3)', async (t) => {
    const kafka = testKafka(t);
    const good = uniqueTopicName(t);
    const bad = `${good}-bad`;
    t.after(() => withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [good, bad] })));
    const ensured = hotstate(['topics', 'ensure', good, '--partitions', '2']);
    assert.equal(ensured.code, 0, ensured.stderr);
    assert.equal(hotstate(['topics', 'verify', good, '--partitions', '2']).code, 0);
    const wrongCount = hotstate(['topics', 'verify', good, '--partitions', '4']);
    assert.equal(wrongCount.code, 3);
    assert.match(wrongCount.stderr, /has 2 partitions, expected 4/);
    await withAdmin(kafka, (admin) =>
      admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: bad,
            configEntries: [
              { name: 'cleanup.policy', value: 'delete' },
              { name: 'unclean.leader.election.enable', value: 'true' },
            ],
          },
        ],
      }),
    );
    const verified = hotstate(['topics', 'verify', bad]);
    assert.equal(verified.code, 3);
    assert.match(verified.stderr, /cleanup\.policy=delete/);
    assert.match(verified.stderr, /unclean\.leader\.election\.enable=true/);
    assert.match(verified.stderr, /min\.compaction\.lag\.ms=0 is below 86400000: the rollback window/);
    // The rollback window: 24 h on a new topic by default, required of an existing one as asked.
    const longer = hotstate(['topics', 'verify', good, '--rollback-window-ms', String(48 * 3_600_000)]);
    assert.equal(longer.code, 3);
    assert.match(longer.stderr, /min\.compaction\.lag\.ms=86400000 is below 172800000/);
  });
});

describe('hotstate schemas', () => {
  test('check passes the catalog, register registers it, an incompatible version fails check with the reason', (t) => {
    const prefix = `${uniqueTopicName(t)}-`;
    const dir = mkdtempSync(join(tmpdir(), 'hotstate-schemas-'));
    t.after(async () => {
      rmSync(dir, { recursive: true, force: true });
      for (const topic of ['instrument-prices', 'feature-flags']) await deleteSubject(`${prefix}${topic}-value`);
    });
    cpSync(join(projectRoot, 'schemas'), dir, { recursive: true });
    assert.equal(hotstate(['schemas', 'check', '--dir', dir, '--subject-prefix', prefix]).code, 0);
    const registered = hotstate(['schemas', 'register', '--dir', dir, '--subject-prefix', prefix]);
    assert.equal(registered.code, 0, registered.stderr);
    assert.equal(registered.stdout.match(/^registered /gm)?.length, 4);
    assert.equal(
      hotstate(['schemas', 'register', '--dir', dir, '--subject-prefix', prefix]).code,
      0,
      'registering again is a no-op',
    );

    // v3 drops the default of a new field: old data cannot be read, locally or by the registry's BACKWARD rule.
    writeFileSync(
      join(dir, 'feature-flags', 'v3.avsc'),
      JSON.stringify({
        type: 'record',
        name: 'FeatureFlag',
        namespace: 'hotstate.samples.flags',
        fields: [
          { name: 'enabled', type: 'boolean' },
          { name: 'rolloutPercent', type: 'int' },
          { name: 'killSwitch', type: 'boolean' },
        ],
      }),
    );
    const checked = hotstate(['schemas', 'check', '--dir', dir, '--subject-prefix', prefix]);
    assert.equal(checked.code, 3);
    assert.match(checked.stderr, /FAIL .*feature-flags-value .*v3\.avsc: cannot read v2 data: .*killSwitch/);
    assert.match(checked.stderr, /FAIL .*feature-flags-value .*v3\.avsc: the registry rejects it as incompatible/);
    const refused = hotstate(['schemas', 'register', '--dir', dir, '--subject-prefix', prefix]);
    assert.equal(refused.code, 3);
    assert.match(
      refused.stderr,
      /HOTSTATE_ERR_REGISTRY_REJECTED: registry refused registering a schema under .*feature-flags-value: .*Incompatible/,
    );
  });
});

describe('hotstate emit with foreign subjects and exact numbers', () => {
  test('--register-schema works on a subject another client created; an incompatible schema is refused as such', async (t) => {
    const topic = uniqueTopicName(t);
    assert.equal(hotstate(['topics', 'ensure', topic, '--partitions', '1']).code, 0);
    t.after(() => deleteSubject(`${topic}-value`));
    // Another client registers v1 with its own subject-level rule (NONE), as Confluent's serializers may.
    const send = (path: string, body: unknown, method = 'POST'): Promise<unknown> =>
      registryRequest(testRegistry(), path, `${method} ${path}`, { method, body: JSON.stringify(body) });
    await send(`/subjects/${topic}-value/versions`, { schema: schemaText('instrument-prices', 1) });
    await send(`/config/${topic}-value`, { compatibility: 'NONE' }, 'PUT');
    const line =
      '{"key":"MAX","value":{"instrument":"MAX","price":1.5,"currency":"EUR","updatedAt":9223372036854775807,"venue":null}}\n';
    const v2 = join(projectRoot, 'schemas', 'instrument-prices', 'v2.avsc');
    const sent = hotstate(['emit', '-t', topic, '--schema', v2, '--register-schema'], line);
    assert.equal(sent.code, 0, sent.stderr);
    // The long beyond 2^53 comes back exactly, from the topic through a view.
    const dumped = hotstate(['dump', '-t', topic, '--no-progress']);
    assert.match(dumped.stdout, /"updatedAt":9223372036854775807/);
    // Under BACKWARD, a schema that cannot read the old data is refused for what it is: not an outage, not retriable.
    await send(`/config/${topic}-value`, { compatibility: 'BACKWARD' }, 'PUT');
    const incompatible = join(mkdtempSync(join(tmpdir(), 'hotstate-')), 'v3.avsc');
    writeFileSync(
      incompatible,
      JSON.stringify({
        type: 'record',
        name: 'InstrumentPrice',
        namespace: 'hotstate.samples.prices',
        fields: [
          { name: 'instrument', type: 'string' },
          { name: 'mandatory', type: 'string' },
        ],
      }),
    );
    const refused = hotstate(
      ['emit', '-t', topic, '--schema', incompatible, '--register-schema'],
      '{"key":"B","value":{"instrument":"B","mandatory":"x"}}\n',
    );
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /HOTSTATE_ERR_REGISTRY_REJECTED/);
    assert.doesNotMatch(refused.stderr, /UNAVAILABLE/);
  });
});
