// The first hour, as a newcomer gets it wrong: every misconfiguration of the matrix below, tried on the library, the
// state service, the ingest service and the CLI (real processes), against the real plaintext and secured clusters.
// Each answers within 10 s with its documented code, the cause in words and the documented exit code; a service
// refusing to start logs one JSON line with code and reason (no stack trace); no view is ever ready because of it.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exitCodeByCode } from '../../services/common/exit-codes.ts';
import { isHotstateError, type ErrorCode } from '../../services/lib/errors.ts';
import { createLogger } from '../../services/lib/logger.ts';
import { createProducer } from '../../services/lib/producer/producer.ts';
import {
  registerValueSchema,
  registryRequest,
  valueSubject,
  type RegistryTarget,
} from '../../services/lib/registry.ts';
import { createPlatformaticTransport } from '../../services/lib/transport/platformatic/platformatic-transport.ts';
import type { KafkaConnection } from '../../services/lib/transport/transport.ts';
import { ensureDatasetTopic } from '../../services/lib/kafka/topics.ts';
import { createView } from '../../services/lib/view/view.ts';
import { projectRoot } from '../../infra/settings.ts';
import { price, schemaText } from '../helpers/datasets.ts';
import { freePortBlock } from '../helpers/ports.ts';
import { grantTopic, secureInfra } from '../helpers/secure-infra.ts';
import { runService } from '../helpers/services.ts';
import { testInfra } from '../helpers/infra.ts';

const silent = createLogger({ level: 'silent' });
const BAR_MS = 10_000;

/** Where a row connects: library options and the environment of a service or CLI process. */
interface Setup {
  readonly kafka: KafkaConnection;
  readonly registryUrl: RegistryTarget;
  readonly topic: string;
  readonly env: Record<string, string>;
}

interface Row {
  readonly name: string;
  /** Needs the secured cluster (SASL_SSL, ACLs, registry over HTTPS). */
  readonly secure?: boolean;
  readonly setup: () => Setup;
  readonly code: ErrorCode;
  /** The cause, in the words a newcomer reads. */
  readonly words: RegExp;
  /** A registry that does not answer: views wait (not ready, with the reason) instead of failing. */
  readonly viewsWait?: boolean;
}

/** A non-empty dataset topic on a cluster, with its schema; `cleanups` removes it. */
async function datasetOn(
  kafka: KafkaConnection,
  registry: RegistryTarget,
  cleanups: Array<() => Promise<void>>,
): Promise<string> {
  const topic = `test-misconfiguration-${randomUUID()}`;
  const transport = createPlatformaticTransport(kafka);
  try {
    await ensureDatasetTopic(transport, { topic, partitions: 1 });
  } finally {
    await transport.close();
  }
  await registerValueSchema(registry, topic, schemaText('instrument-prices', 2));
  const producer = await createProducer({ kafka, registryUrl: registry, topic });
  await producer.send([
    { key: 'ACME', value: price('ACME', 1) },
    { key: 'GLOBEX', value: price('GLOBEX', 2) },
  ]);
  await producer.close();
  cleanups.push(async () => {
    const cleanup = createPlatformaticTransport(kafka);
    await cleanup.deleteTopic(topic).catch(() => undefined);
    await cleanup.close();
    for (const suffix of ['', '?permanent=true']) {
      await registryRequest(
        registry,
        `/subjects/${encodeURIComponent(valueSubject(topic))}${suffix}`,
        'deleting a test subject',
        { method: 'DELETE' },
      ).catch(() => undefined);
    }
  });
  return topic;
}

/** The library: a view must fail with the row's code (or, when views wait, stay not ready naming the cause). */
async function checkLibrary(row: Row, setup: Setup): Promise<void> {
  const began = performance.now();
  let view: Awaited<ReturnType<typeof createView>> | undefined;
  try {
    view = await createView({ kafka: setup.kafka, registryUrl: setup.registryUrl, topic: setup.topic, logger: silent });
    if (row.viewsWait) {
      for (;;) {
        const { state, reason, ready } = view.status();
        assert.equal(ready, false, 'never ready');
        if (state === 'waiting-registry' && row.words.test(reason ?? '')) break;
        assert.ok(
          performance.now() - began < BAR_MS,
          `library: waiting with the reason within 10 s (state ${state}: ${String(reason)})`,
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return;
    }
    await view.ready;
    assert.fail('library: the view became ready');
  } catch (error) {
    assert.ok(isHotstateError(error, row.code), `library: expected ${row.code}, got ${String(error)}`);
    assert.match(error.message, row.words, 'library: the cause in words');
    if (/AUTHENTICATION|DENIED|MISADDRESSED/.test(row.code))
      assert.equal(error.retriable, false, 'library: a refusal is not retried');
  } finally {
    await view?.close();
  }
  assert.ok(
    performance.now() - began < BAR_MS,
    `library: answered within 10 s (${(performance.now() - began).toFixed(0)} ms)`,
  );
}

/** A service process that must refuse to start: one JSON line with code and reason, the documented exit code. */
async function checkServiceRefuses(name: 'state' | 'ingest', row: Row, setup: Setup): Promise<void> {
  const began = performance.now();
  const env = {
    ...setup.env,
    HOTSTATE_DATASETS: setup.topic,
    HOTSTATE_HTTP_HOST: '127.0.0.1',
    HOTSTATE_HTTP_PORT: '0',
    HOTSTATE_INGEST_TOKEN: `ingest-${randomUUID()}`,
  };
  const service = runService(name, env);
  const timer = setTimeout(() => {
    service.kill('SIGKILL');
  }, BAR_MS + 5000);
  const code = await service.exited;
  clearTimeout(timer);
  const ms = performance.now() - began;
  const output = service.output.join('\n');
  assert.ok(ms < BAR_MS, `${name} service: exited within 10 s (${ms.toFixed(0)} ms); output:\n${output}`);
  assert.equal(code, exitCodeByCode[row.code], `${name} service: exit code of ${row.code}; output:\n${output}`);
  const refusals = service.output
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { code?: string; reason?: string }];
      } catch {
        return [];
      }
    })
    .filter((entry) => entry.code !== undefined);
  assert.equal(refusals.length, 1, `${name} service: one JSON line with a code; output:\n${output}`);
  const [refusal] = refusals;
  assert.equal(refusal?.code, row.code);
  assert.match(refusal.reason ?? '', row.words);
  assert.ok(!/^\s+at /m.test(output), `${name} service: no stack trace`);
}

/** The state service when the registry does not answer: up, /readyz 503 naming the registry, never ready. */
async function checkStateWaits(row: Row, setup: Setup): Promise<void> {
  const began = performance.now();
  const service = runService('state', {
    ...setup.env,
    HOTSTATE_DATASETS: setup.topic,
    HOTSTATE_HTTP_HOST: '127.0.0.1',
    HOTSTATE_HTTP_PORT: '0',
  });
  try {
    for (;;) {
      assert.equal(service.child.exitCode, null, `state service: stays up; output:\n${service.output.join('\n')}`);
      const listening = service.output.find((line) => line.includes('service listening'));
      if (listening) {
        const { address } = JSON.parse(listening) as { address: string };
        const answer = await fetch(`${address}/readyz`);
        const body = await answer.text();
        assert.equal(answer.status, 503, `state service: not ready (${body})`);
        if (row.words.test(body)) return;
      }
      assert.ok(
        performance.now() - began < BAR_MS,
        `state service: /readyz names the cause within 10 s; output:\n${service.output.join('\n')}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    service.kill('SIGKILL');
    await service.exited;
  }
}

/** The CLI (`get`, a one-shot command reading through a view): the code, the cause and the exit code. */
async function checkCli(row: Row, setup: Setup): Promise<void> {
  const began = performance.now();
  const cli = join(projectRoot, 'services', 'cli', 'main.ts');
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [cli, 'get', '-t', setup.topic, 'ACME', '--no-progress'],
      { env: { PATH: process.env.PATH ?? '', ...setup.env }, timeout: BAR_MS + 5000 },
      (_error, _stdout, errText) => {
        resolve({ code: child.exitCode, stderr: errText });
      },
    );
  });
  const ms = performance.now() - began;
  assert.ok(ms < BAR_MS, `CLI: answered within 10 s (${ms.toFixed(0)} ms): ${stderr}`);
  assert.equal(code, exitCodeByCode[row.code], `CLI: exit code of ${row.code}: ${stderr}`);
  assert.match(stderr, new RegExp(`^hotstate: ${row.code}: `, 'm'));
  assert.match(stderr, row.words);
}

async function checkRow(row: Row): Promise<void> {
  const setup = row.setup();
  await Promise.all([
    checkLibrary(row, setup),
    row.viewsWait ? checkStateWaits(row, setup) : checkServiceRefuses('state', row, setup),
    checkServiceRefuses('ingest', row, setup),
    checkCli(row, setup),
  ]);
}

describe('misconfigurations answered within 10 s by the library, both services and the CLI', () => {
  let plainTopic = '';
  let secureTopic = '';
  let closedPort = 0;
  let fakeCa = '';
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });
  before(async () => {
    const plain = testInfra();
    [plainTopic, closedPort] = await Promise.all([datasetOn(plain.kafka, plain.registry, cleanups), freePortBlock(1)]);
    if (process.env.HOTSTATE_TEST_SECURE_INFRA === undefined) return;
    const secure = secureInfra();
    secureTopic = await datasetOn(secure.kafka('hotstate'), secure.registry('hotstate'), cleanups);
    // A CA with the real CA's subject but another key: it names the issuer of the brokers' and registry's
    // certificates, but their signatures do not verify against it.
    const dir = mkdtempSync(join(tmpdir(), 'hotstate-fake-ca-'));
    const subject = execFileSync(
      'openssl',
      ['x509', '-in', secure.caFile, '-noout', '-subject', '-nameopt', 'compat'],
      { encoding: 'utf8' },
    )
      .replace(/^subject=\s*/, '')
      .trim();
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'ca.pem'),
        '-days',
        '1',
        '-subj',
        subject,
      ],
      { stdio: 'ignore' },
    );
    fakeCa = join(dir, 'ca.pem');
  });

  const plainSetup = (change: { brokers?: string; registry?: string; topic?: string }): Setup => {
    const plain = testInfra();
    const brokers = change.brokers ?? plain.brokers.join(',');
    const registry = change.registry ?? plain.registryUrl;
    const topic = change.topic ?? plainTopic;
    return {
      kafka: { brokers: brokers.split(','), connectionTimeoutMs: 3000 },
      registryUrl: registry,
      topic,
      env: { KAFKA_BROKERS: brokers, SCHEMA_REGISTRY_URL: registry },
    };
  };
  const origin = (url: string): string => new URL(url).origin;
  const securePassword = `wrong-${randomUUID()}`;
  const wrongPasswordFile = (): string => {
    const file = join(mkdtempSync(join(tmpdir(), 'hotstate-wrong-password-')), 'password');
    writeFileSync(file, securePassword);
    return file;
  };
  const secureSetup = (change: (good: Setup) => Setup): Setup => {
    const secure = secureInfra();
    return change({
      kafka: secure.kafka('hotstate'),
      registryUrl: secure.registry('hotstate'),
      topic: secureTopic,
      env: secure.env('hotstate'),
    });
  };

  // OpenSSL names the failure by what it tried: a chain holding the real CA, or a leaf whose issuer's signature fails.
  const untrustedByCa =
    /TLS .*\((CERT_SIGNATURE_FAILURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\): its certificate/;
  const rows: Row[] = [
    {
      name: 'a registry URL without its API path',
      setup: () => plainSetup({ registry: origin(testInfra().registryUrl) }),
      code: 'HOTSTATE_ERR_REGISTRY_MISADDRESSED',
      words:
        /does not serve the Confluent schema-registry API.*answers at http:\/\/127\.0\.0\.1:\d+\/apis\/ccompat\/v7/,
    },
    {
      name: 'a registry port where nothing listens',
      setup: () => plainSetup({ registry: `http://127.0.0.1:${String(closedPort)}/apis/ccompat/v7` }),
      code: 'HOTSTATE_ERR_REGISTRY_UNAVAILABLE',
      words: /connection refused/,
      viewsWait: true,
    },
    {
      name: 'https:// against a plaintext registry',
      setup: () => plainSetup({ registry: testInfra().registryUrl.replace(/^http:/, 'https:') }),
      code: 'HOTSTATE_ERR_REGISTRY_MISADDRESSED',
      words: /does not speak TLS/,
    },
    {
      name: 'http:// against an https:// registry',
      secure: true,
      setup: () =>
        secureSetup((good) => {
          const url = secureInfra().registryUrl.replace(/^https:/, 'http:');
          return {
            ...good,
            registryUrl: { ...(good.registryUrl as object), url },
            env: { ...good.env, SCHEMA_REGISTRY_URL: url },
          };
        }),
      code: 'HOTSTATE_ERR_REGISTRY_MISADDRESSED',
      words: /speaks TLS: use https:\/\//,
    },
    {
      name: 'a broker port where nothing listens (broker down)',
      setup: () => plainSetup({ brokers: `127.0.0.1:${String(closedPort)}` }),
      code: 'HOTSTATE_ERR_TRANSPORT_KAFKA',
      words: /127\.0\.0\.1:\d+: connection refused/,
    },
    {
      name: "a broker address that is not a Kafka listener (the registry's port)",
      setup: () => plainSetup({ brokers: new URL(testInfra().registryUrl).host }),
      code: 'HOTSTATE_ERR_TRANSPORT_KAFKA',
      words: /closed the connection before answering \(not a Kafka listener/,
    },
    {
      name: 'a topic that does not exist',
      setup: () => plainSetup({ topic: `test-no-such-topic-${randomUUID()}` }),
      code: 'HOTSTATE_ERR_RESOURCE_NOT_FOUND',
      words: /topic test-no-such-topic-\S+ does not exist/,
    },
    {
      name: 'a wrong SASL password',
      secure: true,
      setup: () =>
        secureSetup((good) => {
          const file = wrongPasswordFile();
          return {
            ...good,
            kafka: {
              ...good.kafka,
              sasl: { mechanism: 'SCRAM-SHA-512', username: 'hotstate', password: securePassword },
            },
            env: { ...good.env, KAFKA_SASL_PASSWORD_FILE: file },
          };
        }),
      code: 'HOTSTATE_ERR_TRANSPORT_AUTHENTICATION',
      words: /SASL_AUTHENTICATION_FAILED|wrong username or password|SASL authentication failed/,
    },
    {
      name: 'a Kafka CA with the right subject and another key',
      secure: true,
      setup: () =>
        secureSetup((good) => ({
          ...good,
          kafka: { ...good.kafka, tls: { ca: readFileSync(fakeCa, 'utf8') } },
          env: { ...good.env, KAFKA_TLS_CA_FILE: fakeCa },
        })),
      code: 'HOTSTATE_ERR_TRANSPORT_AUTHENTICATION',
      words: untrustedByCa,
    },
    {
      name: 'a registry CA with the right subject and another key',
      secure: true,
      setup: () =>
        secureSetup((good) => ({
          ...good,
          registryUrl: {
            ...(good.registryUrl as object),
            url: secureInfra().registryUrl,
            ca: readFileSync(fakeCa, 'utf8'),
          },
          env: { ...good.env, SCHEMA_REGISTRY_CA_FILE: fakeCa },
        })),
      code: 'HOTSTATE_ERR_REGISTRY_AUTHENTICATION',
      words: untrustedByCa,
    },
    {
      name: 'a wrong registry password',
      secure: true,
      setup: () =>
        secureSetup((good) => {
          const file = wrongPasswordFile();
          return {
            ...good,
            registryUrl: { ...(good.registryUrl as object), url: secureInfra().registryUrl, password: securePassword },
            env: { ...good.env, SCHEMA_REGISTRY_PASSWORD_FILE: file },
          };
        }),
      code: 'HOTSTATE_ERR_REGISTRY_AUTHENTICATION',
      words: /schema registry refused the credentials/,
    },
    {
      name: 'a principal without ACLs on the topic',
      secure: true,
      setup: () => {
        const secure = secureInfra();
        return {
          kafka: secure.kafka('hotstate-nobody'),
          registryUrl: secure.registry('hotstate-nobody'),
          topic: secureTopic,
          env: secure.env('hotstate-nobody'),
        };
      },
      code: 'HOTSTATE_ERR_TRANSPORT_DENIED',
      words: /TOPIC_AUTHORIZATION_FAILED: this principal lacks an ACL/,
    },
  ];

  test(
    'emit as a principal that may read the topic but not write it: HOTSTATE_ERR_TRANSPORT_DENIED, exit 1, nothing written',
    {
      skip:
        process.env.HOTSTATE_TEST_SECURE_INFRA === undefined &&
        'needs the secured cluster (left out by HOTSTATE_TEST_SECURE=0)',
    },
    async (t) => {
      const secure = secureInfra();
      await grantTopic(t, secure, 'hotstate-view', secureTopic, ['READ', 'DESCRIBE', 'DESCRIBE_CONFIGS']);
      const began = performance.now();
      const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = execFile(
          process.execPath,
          [join(projectRoot, 'services', 'cli', 'main.ts'), 'emit', '-t', secureTopic, '--no-progress'],
          { env: { PATH: process.env.PATH ?? '', ...secure.env('hotstate-view') }, timeout: BAR_MS + 5000 },
          (_error, _stdout, errText) => {
            resolve({ code: child.exitCode, stderr: errText });
          },
        );
        child.stdin?.end(`${JSON.stringify({ key: 'ACME', value: price('ACME', 666) })}\n`);
      });
      assert.ok(performance.now() - began < BAR_MS, `answered within 10 s: ${stderr}`);
      assert.equal(code, 1, stderr);
      assert.match(
        stderr,
        /^hotstate: HOTSTATE_ERR_TRANSPORT_DENIED: .*(TOPIC|CLUSTER)_AUTHORIZATION_FAILED: this principal lacks an ACL/m,
      ); // idempotent writes need Write somewhere
      assert.match(stderr, /acknowledged before the failure: 0 of 1 record\(s\)/);
    },
  );

  const noSecuredCluster =
    process.env.HOTSTATE_TEST_SECURE_INFRA === undefined
      ? 'needs the secured cluster (left out by HOTSTATE_TEST_SECURE=0)'
      : false;
  for (const row of rows)
    test(row.name, { skip: row.secure === true && noSecuredCluster }, async () => {
      await checkRow(row);
    });
});
