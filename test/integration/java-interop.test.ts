// Interoperability with a foreign writer and reader: a Java program (kafka-clients + Apache Avro, the Confluent frame
// written by hand, built with Maven) writes Long.MAX_VALUE/MIN_VALUE, NaN, ±Infinity, -0.0, unicode keys and a v1 →
// v2 schema evolution; the view, the CLI and the state service must show exactly the same values, partitions and
// offsets. Then hotstate's producer writes and the Java consumer must read exactly what was written.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { before, describe, test, type TestContext } from 'node:test';
import { projectRoot } from '../../infra/settings.ts';
import { parseJsonExact, stringifyJson } from '../../services/lib/codec/json-values.ts';
import { createProducer } from '../../services/lib/producer/producer.ts';
import { registerValueSchema } from '../../services/lib/registry.ts';
import { createView } from '../../services/lib/view/view.ts';
import { hotstate } from '../helpers/cli.ts';
import { createTestTopic, testInfra, testKafka, testRegistry } from '../helpers/infra.ts';
import { serviceEnv, startService, waitReady } from '../helpers/services.ts';

const javaDir = join(projectRoot, 'test', 'interop', 'java');
const schemaFile = (version: number): string =>
  join(projectRoot, 'test', 'interop', 'schemas', `reading-v${String(version)}.avsc`);

interface Line {
  readonly key: string;
  readonly partition: number;
  readonly offset: number;
  readonly value: unknown;
}

/** On the secured cluster, the Java client's security settings as a properties file (mode 0600: it holds a password). */
function javaClientEnv(t: TestContext): Record<string, string> {
  const infra = testInfra();
  if (!infra.secure) return {};
  const file = join(mkdtempSync(join(tmpdir(), 'hotstate-java-')), 'client.properties');
  t.after(() => {
    rmSync(dirname(file), { recursive: true, force: true });
  });
  const { sasl, tls } = infra.kafka;
  const password = typeof sasl?.password === 'function' ? sasl.password() : (sasl?.password ?? '');
  const jaas = `org.apache.kafka.common.security.scram.ScramLoginModule required username="${sasl?.username ?? ''}" password="${password}";`;
  const caFile = join(dirname(file), 'ca.pem');
  writeFileSync(caFile, String(tls?.ca ?? ''));
  writeFileSync(
    file,
    [
      'security.protocol=SASL_SSL',
      'sasl.mechanism=SCRAM-SHA-512',
      `sasl.jaas.config=${jaas.replace(/\\/g, '\\\\')}`,
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${caFile}`,
    ].join('\n'),
    { mode: 0o600 },
  );
  return { HOTSTATE_KAFKA_CLIENT_PROPERTIES: file };
}

const java = (t: TestContext, ...args: string[]): Line[] =>
  execFileSync(
    'java',
    [
      '-cp',
      `${join(javaDir, 'target', 'classes')}:${join(javaDir, 'target', 'dependency', '*')}`,
      'hotstate.interop.Foreign',
      ...args,
    ],
    { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...javaClientEnv(t) } },
  )
    .split('\n')
    .filter(Boolean)
    .map((line) => parseJsonExact(line) as Line);

/** The last record of every key, as the topic holds it. */
const latest = (lines: readonly Line[]): Map<string, Line> => new Map(lines.map((line) => [line.key, line]));

describe('interoperability with Java kafka-clients + Apache Avro', () => {
  before(() => {
    execFileSync('mvn', ['-q', '-B', 'package', 'dependency:copy-dependencies', '-DincludeScope=runtime'], {
      cwd: javaDir,
      stdio: 'inherit',
      timeout: 600_000,
    });
  });

  test('records a Java writer wrote: the view, the CLI and the state service show exactly its values, partitions and offsets', async (t) => {
    const topic = await createTestTopic(t, testKafka(t), { partitions: 3 });
    const v1 = await registerValueSchema(testRegistry(), topic, readFileSync(schemaFile(1), 'utf8'));
    const v2 = await registerValueSchema(testRegistry(), topic, readFileSync(schemaFile(2), 'utf8'));
    const written = latest(
      java(t, 'write', testInfra().brokers.join(','), topic, String(v1), schemaFile(1), String(v2), schemaFile(2)),
    );
    assert.equal(written.size, 4);
    const exact = (line: { partition: number; offset: number; value: unknown }): string =>
      stringifyJson({ partition: line.partition, offset: line.offset, value: line.value });

    const view = await createView({ kafka: testInfra().kafka, registryUrl: testRegistry(), topic });
    t.after(() => view.close());
    await view.ready;
    for (const [key, line] of written) {
      const item = view.get(key);
      assert.ok(item, key);
      assert.equal(exact(item), exact(line), `view: ${key}`);
    }
    assert.equal(typeof view.get<{ count: unknown }>('sentinel-max')?.value.count, 'number', '-1 stays a number');
    assert.equal(view.get<{ nanos: unknown }>('sentinel-max')?.value.nanos, 9223372036854775807n);

    const dumped = latest(
      hotstate(['dump', '-t', topic, '--no-progress'])
        .stdout.split('\n')
        .filter(Boolean)
        .map((l) => parseJsonExact(l) as Line),
    );
    for (const [key, line] of written) assert.equal(exact(dumped.get(key) ?? line), exact(line), `dump: ${key}`);
    assert.equal(dumped.size, written.size);

    const state = await startService(t, 'state', serviceEnv([topic]));
    await waitReady(state);
    for (const [key, line] of written) {
      const body = parseJsonExact(
        await (await fetch(`${state.url}/v1/datasets/${topic}/keys/${encodeURIComponent(key)}`)).text(),
      ) as Line;
      assert.equal(exact(body), exact(line), `state service: ${key}`);
    }
  });

  test('records hotstate wrote: the Java consumer decodes exactly the values, at the partitions and offsets reported', async (t) => {
    const topic = await createTestTopic(t, testKafka(t), { partitions: 3 });
    const v2 = await registerValueSchema(testRegistry(), topic, readFileSync(schemaFile(2), 'utf8'));
    const producer = await createProducer({
      kafka: testInfra().kafka,
      registryUrl: testRegistry(),
      topic,
      schema: readFileSync(schemaFile(2), 'utf8'),
    });
    t.after(() => producer.close());
    const values: Record<string, Record<string, unknown>> = {
      'sentinel-max': {
        id: 'max',
        count: 9223372036854775807n,
        ratio: Number.NaN,
        note: null,
        nanos: -9223372036854775808n,
      },
      ключ: { id: 'inf', count: 2n ** 53n + 1n, ratio: Number.POSITIVE_INFINITY, note: '日本語 ✓', nanos: 0 },
      '🔑': { id: 'neg', count: -42, ratio: Number.NEGATIVE_INFINITY, note: null, nanos: 1_790_000_000_123_456_789n },
      plain: { id: 'plain', count: 0, ratio: -0, note: 'x', nanos: 2 ** 53 - 1 },
    };
    const { results } = await producer.send(Object.entries(values).map(([key, value]) => ({ key, value })));
    const read = latest(java(t, 'read', testInfra().brokers.join(','), topic, `${String(v2)}=${schemaFile(2)}`));
    for (const result of results) {
      const line = read.get(result.key);
      assert.ok(line, result.key);
      assert.deepEqual(
        [line.partition, line.offset],
        [result.partition, result.offset],
        `${result.key}: where the producer said`,
      );
      assert.equal(
        stringifyJson(line.value),
        stringifyJson(values[result.key]),
        `${result.key}: what the producer wrote`,
      );
    }
  });
});
