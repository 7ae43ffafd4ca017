// The secured local cluster (`infra up --secure`): a private CA and a broker certificate made with openssl, SCRAM
// users created when the storage is formatted, a SASL_SSL client listener with the StandardAuthorizer (no ACL = no
// access), and the registry behind an HTTPS + basic-auth front (registry-front.ts). Everything lives in
// `<infra dir>/secure`, keys and passwords with mode 0600; `infra env` prints the client settings that use them.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import kafkajs from 'kafkajs';
import { markerFor, startDetached, waitUntilReady, type ProcessRecord } from './processes.ts';
import { projectRoot, registryBackendPort, type InfraSettings } from './settings.ts';

/** Principals of the secured cluster. `hotstate` is the development principal the demo and tests use (ACLs on
 *  everything, but no super user); `connect` is Kafka Connect's (grantConnectAcls); the others have no ACL until
 *  someone grants one (least-privilege tests). */
export const secureUsers = [
  'admin',
  'hotstate',
  'hotstate-producer',
  'hotstate-view',
  'hotstate-nobody',
  'connect',
] as const;
export type SecureUser = (typeof secureUsers)[number];

export interface SecureFiles {
  readonly dir: string;
  readonly caFile: string;
  readonly caKeyFile: string;
  readonly brokerKeystoreFile: string;
  readonly frontCertFile: string;
  readonly frontKeyFile: string;
  readonly passwordFile: (user: SecureUser) => string;
}

export const secureFiles = (s: InfraSettings): SecureFiles => {
  const dir = join(s.dir, 'secure');
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    caKeyFile: join(dir, 'ca.key'),
    brokerKeystoreFile: join(dir, 'broker-keystore.pem'),
    frontCertFile: join(dir, 'server.pem'),
    frontKeyFile: join(dir, 'server.key'),
    passwordFile: (user) => join(dir, `${user}.password`),
  };
};

const secretFile = (file: string, content: string): void => {
  writeFileSync(file, content, { mode: 0o600 });
  chmodSync(file, 0o600);
};

/** Creates the CA, the server certificate (127.0.0.1 and localhost) and the users' passwords, once per folder. */
export function prepareSecureFiles(s: InfraSettings): SecureFiles {
  const f = secureFiles(s);
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: f.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  if (!existsSync(f.caFile)) {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      f.caKeyFile,
      '-out',
      f.caFile,
      '-days',
      '30',
      '-subj',
      '/CN=hotstate local CA',
    );
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      f.frontKeyFile,
      '-out',
      join(f.dir, 'server.csr'),
      '-subj',
      '/CN=127.0.0.1',
    );
    writeFileSync(
      join(f.dir, 'server.ext'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
    );
    openssl(
      'x509',
      '-req',
      '-in',
      join(f.dir, 'server.csr'),
      '-CA',
      f.caFile,
      '-CAkey',
      f.caKeyFile,
      '-CAcreateserial',
      '-out',
      f.frontCertFile,
      '-days',
      '30',
      '-extfile',
      join(f.dir, 'server.ext'),
    );
    // Kafka's PEM key store: the (PKCS#8, unencrypted) key, then the certificate chain.
    secretFile(
      f.brokerKeystoreFile,
      readFileSync(f.frontKeyFile, 'utf8') + readFileSync(f.frontCertFile, 'utf8') + readFileSync(f.caFile, 'utf8'),
    );
    for (const file of [f.caKeyFile, f.frontKeyFile]) chmodSync(file, 0o600);
  }
  for (const user of secureUsers)
    if (!existsSync(f.passwordFile(user))) secretFile(f.passwordFile(user), randomBytes(18).toString('base64url'));
  return f;
}

export const passwordOf = (f: SecureFiles, user: SecureUser): string =>
  readFileSync(f.passwordFile(user), 'utf8').trim();

/** `--add-scram` arguments of the storage format: every user, SCRAM-SHA-512 and -256. */
export function scramFormatArgs(f: SecureFiles): string[] {
  return secureUsers.flatMap((user) =>
    ['SCRAM-SHA-512', 'SCRAM-SHA-256'].flatMap((mechanism) => [
      '--add-scram',
      `${mechanism}=[name=${user},password=${passwordOf(f, user)}]`,
    ]),
  );
}

const jaasValue = (value: string): string => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

/** Broker properties of the SASL_SSL client listener (the controller listener stays plaintext on loopback). */
export function secureBrokerProperties(f: SecureFiles, clientListener: string): Record<string, string> {
  const admin = passwordOf(f, 'admin');
  const plainUsers = secureUsers.map((user) => `user_${user}="${jaasValue(passwordOf(f, user))}"`).join(' ');
  return {
    'listener.security.protocol.map': 'SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT',
    listeners: clientListener,
    'inter.broker.listener.name': 'SASL_SSL',
    'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
    'sasl.enabled.mechanisms': 'SCRAM-SHA-512,SCRAM-SHA-256,PLAIN',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': `org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${jaasValue(admin)}";`,
    'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config':
      'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_ssl.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${jaasValue(admin)}" ${plainUsers};`,
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': f.brokerKeystoreFile,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': f.caFile,
    'ssl.client.auth': 'requested',
    'ssl.endpoint.identification.algorithm': 'https',
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'allow.everyone.if.no.acl.found': 'false',
    // The broker's own requests to the in-process controller arrive on the plaintext loopback controller listener.
    'super.users': 'User:admin;User:ANONYMOUS',
  };
}

/** kafkajs options for a user of the secured cluster (the launcher's readiness checks and ACL setup). */
export function kafkajsSecurity(
  f: SecureFiles,
  user: SecureUser,
): { ssl: { ca: string[] }; sasl: { mechanism: 'scram-sha-512'; username: string; password: string } } {
  return {
    ssl: { ca: [readFileSync(f.caFile, 'utf8')] },
    sasl: { mechanism: 'scram-sha-512', username: user, password: passwordOf(f, user) },
  };
}

interface Grant {
  readonly type: kafkajs.AclResourceTypes;
  readonly name: string;
  readonly operation: kafkajs.AclOperationTypes;
  /** A name prefix rather than a literal name. */
  readonly prefixed?: boolean;
}

/** Creates ACLs allowing a principal the grants, as the admin. */
async function grantAcls(f: SecureFiles, brokers: string[], user: SecureUser, grants: readonly Grant[]): Promise<void> {
  const { AclPermissionTypes, ResourcePatternTypes } = kafkajs;
  const admin = new kafkajs.Kafka({
    brokers,
    clientId: 'hotstate-infra',
    logLevel: kafkajs.logLevel.NOTHING,
    ...kafkajsSecurity(f, 'admin'),
  }).admin();
  await admin.connect();
  try {
    await admin.createAcls({
      acl: grants.map(({ type, name, operation, prefixed = false }) => ({
        resourceType: type,
        resourceName: name,
        resourcePatternType: prefixed ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
        principal: `User:${user}`,
        host: '*',
        operation,
        permissionType: AclPermissionTypes.ALLOW,
      })),
    });
  } finally {
    await admin.disconnect();
  }
}

const { AclOperationTypes: op, AclResourceTypes: resource } = kafkajs;

/** The development principal's ACLs: everything on topics, groups and transactional ids, and the cluster operations
 *  tools need. */
export async function grantDevelopmentAcls(f: SecureFiles, brokers: string[]): Promise<void> {
  await grantAcls(f, brokers, 'hotstate', [
    { type: resource.TOPIC, name: '*', operation: op.ALL },
    { type: resource.GROUP, name: '*', operation: op.ALL },
    { type: resource.TRANSACTIONAL_ID, name: '*', operation: op.ALL },
    ...[op.CREATE, op.DESCRIBE, op.DESCRIBE_CONFIGS, op.IDEMPOTENT_WRITE].map((operation) => ({
      type: resource.CLUSTER,
      name: 'kafka-cluster',
      operation,
    })),
  ]);
}

/** Kafka Connect's principal: its own topics (`connect-*`) and worker group in full; on the tables' topics only what a
 *  source connector does (create, write, describe), never read. */
export async function grantConnectAcls(f: SecureFiles, brokers: string[], workerGroup: string): Promise<void> {
  await grantAcls(f, brokers, 'connect', [
    { type: resource.TOPIC, name: 'connect-', operation: op.ALL, prefixed: true },
    { type: resource.GROUP, name: workerGroup, operation: op.ALL },
    ...[op.CREATE, op.WRITE, op.DESCRIBE, op.DESCRIBE_CONFIGS].map((operation) => ({
      type: resource.TOPIC,
      name: '*',
      operation,
    })),
    ...[op.DESCRIBE, op.IDEMPOTENT_WRITE].map((operation) => ({
      type: resource.CLUSTER,
      name: 'kafka-cluster',
      operation,
    })),
  ]);
}

/** Worker settings that connect it, and the producers, consumers and admins it makes for connectors, as `connect`. */
export function connectSecurityProperties(f: SecureFiles): Record<string, string> {
  const client = {
    'security.protocol': 'SASL_SSL',
    'sasl.mechanism': 'SCRAM-SHA-512',
    'sasl.jaas.config': `org.apache.kafka.common.security.scram.ScramLoginModule required username="connect" password="${jaasValue(passwordOf(f, 'connect'))}";`,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': f.caFile,
  };
  const prefixed = (prefix: string): Record<string, string> =>
    Object.fromEntries(Object.entries(client).map(([k, v]) => [`${prefix}${k}`, v]));
  return { ...client, ...prefixed('producer.'), ...prefixed('consumer.'), ...prefixed('admin.') };
}

/** The client settings for a user, as the services and the CLI read them (`infra env`). */
export function clientEnv(f: SecureFiles, user: SecureUser = 'hotstate'): Record<string, string> {
  return {
    KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    KAFKA_SASL_USERNAME: user,
    KAFKA_SASL_PASSWORD_FILE: f.passwordFile(user),
    KAFKA_TLS_CA_FILE: f.caFile,
    SCHEMA_REGISTRY_USERNAME: user,
    SCHEMA_REGISTRY_PASSWORD_FILE: f.passwordFile(user),
    SCHEMA_REGISTRY_CA_FILE: f.caFile,
  };
}

/** `hotstate cdc add`'s settings for the converter inside Connect: it reaches the registry as `connect`. */
export const connectConverterEnv = (f: SecureFiles): Record<string, string> => ({
  CDC_REGISTRY_USERNAME: 'connect',
  CDC_REGISTRY_PASSWORD_FILE: f.passwordFile('connect'),
  CDC_REGISTRY_CA_FILE: f.caFile,
});

export const registryFrontName = 'registry-front';

export function startRegistryFront(s: InfraSettings, f: SecureFiles): ProcessRecord {
  const script = join(projectRoot, 'infra', 'registry-front.ts');
  return startDetached(
    s.dir,
    registryFrontName,
    process.execPath,
    [script, String(s.registryPort), String(registryBackendPort(s)), f.dir, markerFor(s.dir, registryFrontName)],
    projectRoot,
  );
}

/** True when the front answers an authenticated request over TLS verified against the local CA. */
export function registryFrontAnswers(f: SecureFiles, baseUrl: string): Promise<boolean> {
  return new Promise((resolve) => {
    const authorization = `Basic ${Buffer.from(`admin:${passwordOf(f, 'admin')}`).toString('base64')}`;
    const req = httpsRequest(
      `${baseUrl}/subjects`,
      { ca: readFileSync(f.caFile), headers: { authorization }, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => {
      resolve(false);
    });
    req.on('timeout', () => {
      req.destroy();
    });
    req.end();
  });
}

export async function waitForRegistryFront(
  s: InfraSettings,
  f: SecureFiles,
  record: ProcessRecord,
  baseUrl: string,
): Promise<void> {
  await waitUntilReady(record, 'the registry front', s.startTimeoutMs, () => registryFrontAnswers(f, baseUrl));
}
