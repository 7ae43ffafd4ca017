// hotstate against the secured local cluster (SASL_SSL, SCRAM users, the StandardAuthorizer with ACLs; the registry
// behind HTTPS and basic auth): the library, both services and the CLI work over it; least-privilege principals can
// do their job and nothing else; wrong passwords, untrusted certificates and missing ACLs fail fast with a clear,
// non-retriable code and never echo a secret.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import { isHotstateError, type ErrorCode } from '../../services/lib/errors.ts';
import { ensureDatasetTopic } from '../../services/lib/kafka/topics.ts';
import { createProducer } from '../../services/lib/producer/producer.ts';
import {
  registerValueSchema,
  registryRequest,
  valueSubject,
  type RegistryTarget,
} from '../../services/lib/registry.ts';
import { createPlatformaticTransport } from '../../services/lib/transport/platformatic/platformatic-transport.ts';
import type { KafkaConnection } from '../../services/lib/transport/transport.ts';
import { createView } from '../../services/lib/view/view.ts';
import { createLogger } from '../../services/lib/logger.ts';
import { hotstate } from '../helpers/cli.ts';
import { price, schemaText } from '../helpers/datasets.ts';
import { grantTopic, secureInfra } from '../helpers/secure-infra.ts';
import { startService, waitReady } from '../helpers/services.ts';

const silent = createLogger({ level: 'silent' });

/** Deletes the topic and its value subject after the test, as the development principal. */
function cleanUp(t: TestContext, topic: string): void {
  const infra = secureInfra();
  t.after(async () => {
    const transport = createPlatformaticTransport(infra.kafka('hotstate'));
    await transport.deleteTopic(topic).catch(() => undefined);
    await transport.close();
    for (const suffix of ['', '?permanent=true']) {
      await registryRequest(
        infra.registry('hotstate'),
        `/subjects/${encodeURIComponent(valueSubject(topic))}${suffix}`,
        'deleting a test subject',
        { method: 'DELETE' },
      ).catch(() => undefined);
    }
  });
}

/** A new topic with the prices schema, created by the development principal; deleted after the test. */
async function secureTopic(t: TestContext): Promise<string> {
  const infra = secureInfra();
  const topic = `test-secure-${randomUUID()}`;
  cleanUp(t, topic);
  const transport = createPlatformaticTransport(infra.kafka('hotstate'));
  try {
    await ensureDatasetTopic(transport, { topic, partitions: 2 });
  } finally {
    await transport.close();
  }
  await registerValueSchema(infra.registry('hotstate'), topic, schemaText('instrument-prices', 2));
  return topic;
}

/** Resolves with the error `attempt` rejects with, and how long it took. */
async function refusal(attempt: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const began = performance.now();
  try {
    await attempt();
  } catch (error) {
    return { error, ms: performance.now() - began };
  }
  throw new Error('expected a refusal, but it worked');
}

function assertRefused(result: { error: unknown; ms: number }, code: ErrorCode, secret?: string): void {
  assert.ok(isHotstateError(result.error, code), `expected ${code}, got ${String(result.error)}`);
  assert.equal(result.error.retriable, false);
  assert.ok(result.ms < 10_000, `reported within 10 s (took ${result.ms.toFixed(0)} ms)`);
  if (secret !== undefined) assert.ok(!result.error.message.includes(secret), 'the secret is not echoed');
}

const openView = (kafka: KafkaConnection, registryUrl: RegistryTarget, topic: string) =>
  createView({ kafka, registryUrl, topic, logger: silent }).then(async (view) => {
    try {
      await view.ready;
      return view;
    } catch (error) {
      await view.close();
      throw error;
    }
  });

describe('the secured cluster (SASL_SSL + SCRAM-SHA-512 + ACLs, registry over HTTPS + basic auth)', () => {
  test('library: the producer writes and views read, with SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN', async (t) => {
    const infra = secureInfra();
    const topic = await secureTopic(t);
    const producer = await createProducer({
      kafka: infra.kafka('hotstate'),
      registryUrl: infra.registry('hotstate'),
      topic,
    });
    t.after(() => producer.close());
    const { token } = await producer.send([
      { key: 'ACME', value: price('ACME', 1.5) },
      { key: 'GLOBEX', value: price('GLOBEX', 2) },
    ]);
    for (const mechanism of ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN'] as const) {
      const view = await openView(infra.kafka('hotstate', mechanism), infra.registry('hotstate'), topic);
      t.after(() => view.close());
      await view.waitFor(token);
      assert.deepEqual([view.size, view.get<{ price: number }>('ACME')?.value.price], [2, 1.5], mechanism);
    }
  });

  test('least privilege: each role does its job with the documented ACLs, and nothing else', async (t) => {
    const infra = secureInfra();
    const topic = await secureTopic(t);
    await grantTopic(t, infra, 'hotstate-producer', topic, ['WRITE', 'DESCRIBE', 'DESCRIBE_CONFIGS']);
    await grantTopic(t, infra, 'hotstate-view', topic, ['READ', 'DESCRIBE', 'DESCRIBE_CONFIGS']);

    const producer = await createProducer({
      kafka: infra.kafka('hotstate-producer'),
      registryUrl: infra.registry('hotstate-producer'),
      topic,
    });
    t.after(() => producer.close());
    const { token } = await producer.send([{ key: 'ACME', value: price('ACME', 7) }]);
    const view = await openView(infra.kafka('hotstate-view'), infra.registry('hotstate-view'), topic);
    t.after(() => view.close());
    await view.waitFor(token);
    assert.equal(view.get<{ price: number }>('ACME')?.value.price, 7);

    // The producer principal cannot read, the view principal cannot write, a principal without ACLs can do neither.
    assertRefused(
      await refusal(() => openView(infra.kafka('hotstate-producer'), infra.registry('hotstate-producer'), topic)),
      'HOTSTATE_ERR_TRANSPORT_DENIED',
    );
    const viewAsWriter = await createProducer({
      kafka: infra.kafka('hotstate-view'),
      registryUrl: infra.registry('hotstate-view'),
      topic,
    });
    t.after(() => viewAsWriter.close());
    assertRefused(
      await refusal(() => viewAsWriter.upsert('ACME', price('ACME', 666))),
      'HOTSTATE_ERR_TRANSPORT_DENIED',
    );
    assertRefused(
      await refusal(() => openView(infra.kafka('hotstate-nobody'), infra.registry('hotstate-nobody'), topic)),
      'HOTSTATE_ERR_TRANSPORT_DENIED',
    );
    assertRefused(
      await refusal(() =>
        createProducer({
          kafka: infra.kafka('hotstate-nobody'),
          registryUrl: infra.registry('hotstate-nobody'),
          topic,
        }),
      ),
      'HOTSTATE_ERR_TRANSPORT_DENIED',
    );
    await view.waitFor(token);
    assert.equal(view.get<{ price: number }>('ACME')?.value.price, 7, 'the refused write changed nothing');

    // topics verify checks the ACLs of a principal against its role (run with an operator's credentials).
    const verify = (principal: string, role: string) =>
      hotstate(
        ['topics', 'verify', topic, '--principal', principal, '--role', role, '--rollback-window-ms', '0'],
        undefined,
        infra.env('admin'),
      );
    const exact = verify('User:hotstate-producer', 'producer');
    assert.equal(exact.code, 0, exact.stderr);
    assert.match(exact.stdout, /User:hotstate-producer has exactly what a producer needs/);
    const wrongRole = verify('User:hotstate-producer', 'view');
    assert.equal(wrongRole.code, 3);
    assert.match(wrongRole.stderr, /User:hotstate-producer lacks READ on topic/);
    assert.match(wrongRole.stderr, /User:hotstate-producer is also allowed WRITE on /);
    assert.match(verify('User:hotstate', 'view').stderr, /User:hotstate is also allowed ALL on \*/);
  });

  test('a wrong password, an untrusted certificate, a wrong registry password: clear, non-retriable, fast, no secret echoed', async (t) => {
    const infra = secureInfra();
    const topic = await secureTopic(t);
    const wrong = `wrong-${randomUUID()}`;
    const good = infra.kafka('hotstate');
    const badPassword: KafkaConnection = {
      ...good,
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'hotstate', password: wrong },
    };
    assertRefused(
      await refusal(() => openView(badPassword, infra.registry('hotstate'), topic)),
      'HOTSTATE_ERR_TRANSPORT_AUTHENTICATION',
      wrong,
    );
    assertRefused(
      await refusal(() => createProducer({ kafka: badPassword, registryUrl: infra.registry('hotstate'), topic })),
      'HOTSTATE_ERR_TRANSPORT_AUTHENTICATION',
      wrong,
    );
    const untrusted: KafkaConnection = { ...good, tls: {} }; // the system's CAs do not know the cluster's private CA
    assertRefused(
      await refusal(() => openView(untrusted, infra.registry('hotstate'), topic)),
      'HOTSTATE_ERR_TRANSPORT_AUTHENTICATION',
    );
    const plaintext: KafkaConnection = { brokers: good.brokers, clientId: 'test-plaintext', connectionTimeoutMs: 3000 };
    const plain = await refusal(() => openView(plaintext, infra.registry('hotstate'), topic));
    assert.ok(
      plain.ms < 10_000 && isHotstateError(plain.error),
      `plaintext against SASL_SSL fails within 10 s: ${String(plain.error)}`,
    );

    const producer = await createProducer({ kafka: good, registryUrl: infra.registry('hotstate'), topic });
    t.after(() => producer.close());
    await producer.upsert('ACME', price('ACME'));
    assertRefused(
      await refusal(() => openView(good, { ...infra.registry('hotstate'), password: wrong }, topic)),
      'HOTSTATE_ERR_REGISTRY_AUTHENTICATION',
      wrong,
    );
    assertRefused(
      await refusal(() =>
        openView(good, { url: infra.registryUrl, username: 'hotstate', password: infra.password('hotstate') }, topic),
      ),
      'HOTSTATE_ERR_REGISTRY_AUTHENTICATION',
    );
  });

  test('both services and the CLI over SASL_SSL with secrets from files; no secret in logs, metrics, errors or --help', async (t) => {
    const infra = secureInfra();
    const env = infra.env('hotstate');
    const secret = infra.password('hotstate');
    const cli = (args: string[], input?: string, extra: Record<string, string> = {}) =>
      hotstate(args, input, { ...env, ...extra });
    const topic = `test-secure-cli-${randomUUID()}`;
    const ensured = cli(['topics', 'ensure', topic, '--partitions', '2']);
    cleanUp(t, topic);
    assert.equal(ensured.code, 0, ensured.stderr);
    assert.equal(cli(['topics', 'verify', topic, '--partitions', '2']).code, 0);
    await registerValueSchema(infra.registry('hotstate'), topic, schemaText('instrument-prices', 2));

    const ingestToken = `ingest-${randomUUID()}`;
    const serviceEnv = { ...env, HOTSTATE_DATASETS: topic, HOTSTATE_HTTP_HOST: '127.0.0.1', HOTSTATE_HTTP_PORT: '0' };
    const [ingest, state] = await Promise.all([
      startService(t, 'ingest', { ...serviceEnv, HOTSTATE_INGEST_TOKEN: ingestToken }),
      startService(t, 'state', serviceEnv),
    ]);
    await waitReady(state);
    const put = await fetch(`${ingest.url}/v1/datasets/${topic}/records/ACME`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ingestToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(price('ACME', 3)),
    });
    assert.equal(put.status, 200, await put.clone().text());
    const { token } = (await put.json()) as { token: string };
    const read = await fetch(`${state.url}/v1/datasets/${topic}/keys/ACME?minVersion=${token}`);
    assert.equal(read.status, 200);
    assert.equal(((await read.json()) as { value: { price: number } }).value.price, 3);

    const emitted = cli(
      ['emit', '-t', topic, '--no-progress'],
      `${JSON.stringify({ key: 'GLOBEX', value: price('GLOBEX', 4) })}\n`,
    );
    assert.equal(emitted.code, 0, emitted.stderr);
    const got = cli(['get', '-t', topic, 'ACME', 'GLOBEX', '--no-progress']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout.trim().split('\n').length, 2);
    assert.equal(cli(['history', '-t', topic, 'ACME']).code, 0);

    // Secrets: never in --help (even when set inline), in logs, metrics or error messages.
    const help = cli(['--help'], undefined, { KAFKA_SASL_PASSWORD_FILE: '', KAFKA_SASL_PASSWORD: secret });
    assert.match(help.stdout, /--kafka-sasl-password-file/);
    assert.ok(!help.stdout.includes(secret) && !help.stderr.includes(secret), '--help shows no secret');
    const refused = cli(['get', '-t', topic, 'ACME', '--no-progress'], undefined, {
      KAFKA_SASL_PASSWORD_FILE: '',
      KAFKA_SASL_PASSWORD: `${secret}x`,
    });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /HOTSTATE_ERR_TRANSPORT_AUTHENTICATION/);
    assert.ok(!refused.stderr.includes(secret), 'the refused password is not echoed');
    const metrics = `${await (await fetch(`${state.url}/metrics`)).text()}${await (await fetch(`${ingest.url}/metrics`)).text()}`;
    for (const [what, text] of [
      ['metrics', metrics],
      ['state log', state.output.join('\n')],
      ['ingest log', ingest.output.join('\n')],
    ] as const) {
      assert.ok(!text.includes(secret), `no secret in the ${what}`);
    }
  });
});
