// The secured test cluster the global setup starts (SASL_SSL + SCRAM + ACLs, registry behind HTTPS + basic auth):
// connection settings per principal, as the library, the services and the CLI take them, and ACL grants by the
// admin principal for least-privilege tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import kafkajs from 'kafkajs';
import type { RegistryConnection } from '../../services/lib/registry.ts';
import type { KafkaConnection } from '../../services/lib/transport/transport.ts';
import { createKafka, withAdmin } from './kafkajs-client.ts';

export type Principal = 'admin' | 'hotstate' | 'hotstate-producer' | 'hotstate-view' | 'hotstate-nobody' | 'connect';

export interface SecureInfra {
  readonly brokers: string[];
  readonly registryUrl: string;
  readonly caFile: string;
  /** With CDC (unless HOTSTATE_TEST_CDC=0): its PostgreSQL and its Kafka Connect, which runs as `connect`. */
  readonly postgresUrl?: string;
  readonly connectUrl?: string;
  passwordFile(user: Principal): string;
  password(user: Principal): string;
  /** Library options for a principal (SCRAM-SHA-512 unless told). */
  kafka(user: Principal, mechanism?: 'SCRAM-SHA-512' | 'SCRAM-SHA-256' | 'PLAIN'): KafkaConnection;
  registry(user: Principal): RegistryConnection;
  /** Environment of a service or CLI process connecting as a principal (secrets as files). */
  env(user: Principal): Record<string, string>;
}

export function secureInfra(): SecureInfra {
  const raw = process.env.HOTSTATE_TEST_SECURE_INFRA;
  if (!raw)
    throw new Error(
      'HOTSTATE_TEST_SECURE_INFRA is not set: run the tests with `npm test` (its global setup starts the secured cluster)',
    );
  const { brokers, registryUrl, dir, postgresUrl, connectUrl } = JSON.parse(raw) as {
    brokers: string[];
    registryUrl: string;
    dir: string;
    postgresUrl?: string;
    connectUrl?: string;
  };
  const caFile = join(dir, 'ca.pem');
  const passwordFile = (user: Principal): string => join(dir, `${user}.password`);
  const password = (user: Principal): string => readFileSync(passwordFile(user), 'utf8').trim();
  return {
    brokers,
    registryUrl,
    caFile,
    ...(postgresUrl && connectUrl ? { postgresUrl, connectUrl } : {}),
    passwordFile,
    password,
    kafka: (user, mechanism = 'SCRAM-SHA-512') => ({
      brokers,
      clientId: `test-${user}`,
      tls: { ca: readFileSync(caFile, 'utf8') },
      sasl: { mechanism, username: user, password: password(user) },
    }),
    registry: (user) => ({
      url: registryUrl,
      username: user,
      password: password(user),
      ca: readFileSync(caFile, 'utf8'),
    }),
    env: (user) => ({
      KAFKA_BROKERS: brokers.join(','),
      SCHEMA_REGISTRY_URL: registryUrl,
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: user,
      KAFKA_SASL_PASSWORD_FILE: passwordFile(user),
      KAFKA_TLS_CA_FILE: caFile,
      SCHEMA_REGISTRY_USERNAME: user,
      SCHEMA_REGISTRY_PASSWORD_FILE: passwordFile(user),
      SCHEMA_REGISTRY_CA_FILE: caFile,
    }),
  };
}

type Operation = 'READ' | 'WRITE' | 'DESCRIBE' | 'CREATE' | 'DELETE' | 'DESCRIBE_CONFIGS' | 'IDEMPOTENT_WRITE';

/** Grants a principal operations on one topic (literal), as the admin; revoked after the test. */
export async function grantTopic(
  t: TestContext,
  infra: SecureInfra,
  user: Principal,
  topic: string,
  operations: readonly Operation[],
): Promise<void> {
  const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;
  const acl = operations.map((operation): kafkajs.AclEntry => ({
    resourceType: AclResourceTypes.TOPIC,
    resourceName: topic,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: `User:${user}`,
    host: '*',
    operation: AclOperationTypes[operation],
    permissionType: AclPermissionTypes.ALLOW,
  }));
  await asAdmin(infra, (admin) => admin.createAcls({ acl }));
  t.after(() => asAdmin(infra, (admin) => admin.deleteAcls({ filters: acl })));
}

/** kafkajs (the independent reference client) as the cluster's admin principal. */
function asAdmin<T>(infra: SecureInfra, use: (admin: kafkajs.Admin) => Promise<T>): Promise<T> {
  return withAdmin(createKafka({ ...infra.kafka('admin'), clientId: 'test-acl-admin' }), use);
}
