// Test factories: every test gets its own topic (UUID name) and the cleanup is registered on the test context,
// so a failing test still deletes what it created.
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import confluent from '@kafkajs/confluent-schema-registry';
import type { TestContext } from 'node:test';
import type { Kafka } from 'kafkajs';
import { createKafka, withAdmin } from './kafkajs-client.ts';
import { ensureDatasetTopic, type DatasetTopicSpec } from '../../services/lib/kafka/topics.ts';
import { createPlatformaticTransport } from '../../services/lib/transport/platformatic/platformatic-transport.ts';
import type { Transport } from '../../services/lib/transport/transport.ts';
import { registryRequest, valueSubject, type RegistryTarget } from '../../services/lib/registry.ts';
import type { KafkaConnection } from '../../services/lib/transport/transport.ts';
import { HotstateError } from '../../services/lib/errors.ts';
import { secureInfra } from './secure-infra.ts';

export interface TestInfra {
  readonly brokers: string[];
  readonly registryUrl: string;
  /** Library options: the brokers, and on the secured cluster its TLS and SASL settings. */
  readonly kafka: KafkaConnection;
  /** What the registry functions take: the URL, or on the secured cluster the URL with credentials and CA. */
  readonly registry: RegistryTarget;
  /** Environment of a service or CLI process (secrets as files, as in Kubernetes). */
  readonly env: Record<string, string>;
  /** kcat's connection arguments. */
  readonly kcat: string[];
  /** True on the secured cluster. */
  readonly secure: boolean;
}

/** The principal the flows run as on the secured cluster: ACLs on every topic, group and transactional id, not a super user. */
const flowPrincipal = 'hotstate';

/** Set by test/sasl-ssl/*: the flows of a test file run on the secured cluster instead. */
export const onSecuredCluster = (): boolean => process.env.HOTSTATE_TEST_CLUSTER === 'sasl_ssl';

/** The infrastructure the global setup started or was pointed at; never silently absent. The test/sasl-ssl/ pass
 *  runs the same flows on the secured cluster: SASL_SSL, SCRAM-SHA-512, every request under the authorizer's ACLs. */
export function testInfra(): TestInfra {
  if (onSecuredCluster()) {
    const secure = secureInfra();
    const { brokers, registryUrl } = secure;
    const password = secure.password(flowPrincipal);
    // kcat authenticates with PLAIN (over the same TLS): Debian's librdkafka 2.0.2 gets SCRAM wrong against Kafka 4
    // brokers (it repeats the client nonce in its final message, fixed in librdkafka 2.6.1, confluentinc/librdkafka#4895).
    return {
      brokers,
      registryUrl,
      secure: true,
      kafka: secure.kafka(flowPrincipal),
      registry: secure.registry(flowPrincipal),
      env: secure.env(flowPrincipal),
      kcat: [
        '-b',
        brokers.join(','),
        '-X',
        'security.protocol=SASL_SSL',
        '-X',
        'sasl.mechanisms=PLAIN',
        '-X',
        `sasl.username=${flowPrincipal}`,
        '-X',
        `sasl.password=${password}`,
        '-X',
        `ssl.ca.location=${secure.caFile}`,
      ],
    };
  }
  const brokers = process.env.KAFKA_BROKERS;
  const registryUrl = process.env.SCHEMA_REGISTRY_URL;
  if (!brokers || !registryUrl) {
    throw new Error(
      'KAFKA_BROKERS and SCHEMA_REGISTRY_URL are not set: run the tests with `npm test` (its global setup starts the infrastructure)',
    );
  }
  return {
    brokers: brokers.split(','),
    registryUrl,
    secure: false,
    kafka: { brokers: brokers.split(',') },
    registry: registryUrl,
    env: { KAFKA_BROKERS: brokers, SCHEMA_REGISTRY_URL: registryUrl },
    kcat: ['-b', brokers],
  };
}

export function testKafka(t: TestContext): Kafka {
  return createKafka({ ...testInfra().kafka, clientId: `test-${slug(t.name)}` });
}

/** A transport of our own seam, closed after the test. */
export function testTransport(t: TestContext, brokers = testInfra().brokers): Transport {
  const transport = createPlatformaticTransport({ ...testInfra().kafka, brokers, clientId: `test-${slug(t.name)}` });
  t.after(() => transport.close());
  return transport;
}

/** The registry as hotstate's registry functions take it. */
export function testRegistry(): RegistryTarget {
  return testInfra().registry;
}

const slug = (name: string): string =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);

export function uniqueTopicName(t: TestContext): string {
  return `test-${slug(t.name)}-${randomUUID()}`;
}

/** A fresh compacted topic; deleted, with its value subject, after the test. */
export async function createTestTopic(
  t: TestContext,
  kafka: Kafka,
  spec: Omit<DatasetTopicSpec, 'topic'> = {},
): Promise<string> {
  const topic = uniqueTopicName(t);
  t.after(async () => {
    await withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [topic] }));
    await deleteSubject(valueSubject(topic));
  });
  await ensureDatasetTopic(testTransport(t), { topic, ...spec });
  return topic;
}

/** The Confluent client (@kafkajs/confluent-schema-registry), an independent codec, reaching the registry as the flows do. */
export function confluentRegistry(): confluent.SchemaRegistry {
  const { registry } = testInfra();
  if (typeof registry === 'string') return new confluent.SchemaRegistry({ host: registry });
  const password = typeof registry.password === 'function' ? registry.password() : (registry.password ?? '');
  return new confluent.SchemaRegistry({
    host: registry.url,
    auth: { username: registry.username ?? '', password },
    agent: new https.Agent({ ca: registry.ca }),
  });
}

/** Soft-deletes then hard-deletes a subject (Confluent API), ignoring one that was never registered. */
export async function deleteSubject(subject: string): Promise<void> {
  for (const suffix of ['', '?permanent=true']) {
    try {
      await registryRequest(
        testRegistry(),
        `/subjects/${encodeURIComponent(subject)}${suffix}`,
        `deleting subject ${subject}`,
        { method: 'DELETE' },
      );
    } catch (error) {
      if (!(error instanceof HotstateError && error.code === 'HOTSTATE_ERR_REGISTRY_SCHEMA_NOT_FOUND')) throw error;
    }
  }
}
