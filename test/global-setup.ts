// Runs once before all test files (node --test-global-setup). Integration tests reach Kafka and the registry
// through KAFKA_BROKERS and SCHEMA_REGISTRY_URL; when those are not set, the local infrastructure is started
// here and stopped again at the end. Beside it, the secured cluster (SASL_SSL + SCRAM + ACLs, registry behind HTTPS
// and basic auth) runs on its own ports and folder for the security tests (HOTSTATE_TEST_SECURE_INFRA tells them
// where), with its own PostgreSQL and Connect (as principal `connect`). Nothing is skipped when it cannot start: the
// whole run fails. HOTSTATE_TEST_SECURE=0 (test:quick) leaves the secured cluster out, HOTSTATE_TEST_CDC=0 PostgreSQL
// and Connect; the tests that need them then skip, one line each.
import { join } from 'node:path';
import { down, up } from '../infra/launcher.ts';
import { secureFiles } from '../infra/secure-cluster.ts';
import { loadInfraSettings, projectRoot, type InfraSettings } from '../infra/settings.ts';
import { assertTestTools } from './preflight.ts';

const started: InfraSettings[] = [];

const withCdc = (): string => (process.env.HOTSTATE_TEST_CDC === '0' ? '0' : '1');

/** The secured cluster's settings: its own folder, ports 200 above the plaintext cluster's (Connect's 210: the
 *  registry's backend sits two above its port), with PostgreSQL and Connect unless HOTSTATE_TEST_CDC=0. */
export function secureTestSettings(): InfraSettings {
  const plain = loadInfraSettings();
  return loadInfraSettings({
    ...process.env,
    HOTSTATE_INFRA_DIR: join(projectRoot, '.infra-secure'),
    HOTSTATE_KAFKA_PORT: String(plain.kafkaPort + 200),
    HOTSTATE_REGISTRY_PORT: String(plain.registryPort + 200),
    HOTSTATE_POSTGRES_PORT: String(plain.postgresPort + 200),
    HOTSTATE_CONNECT_PORT: String(plain.connectPort + 210),
    HOTSTATE_KAFKA_BROKER_COUNT: '1',
    HOTSTATE_PROMETHEUS: '0',
    HOTSTATE_INFRA_SECURE: '1',
    HOTSTATE_INFRA_CDC: withCdc(),
  });
}

/** The plaintext cluster, with PostgreSQL and Kafka Connect for the CDC tests unless HOTSTATE_TEST_CDC=0. */
export const plainTestSettings = (): InfraSettings =>
  loadInfraSettings({ ...process.env, HOTSTATE_INFRA_CDC: withCdc() });

async function start(settings: InfraSettings, what: string): Promise<Awaited<ReturnType<typeof up>>> {
  try {
    const result = await up(settings, (line) => process.stderr.write(`infra (${what}): ${line}\n`));
    if (result.started.length > 0) started.push(settings);
    return result;
  } catch (error) {
    throw new Error(`the ${what} could not start, so integration tests cannot run:\n${(error as Error).message}`, {
      cause: error,
    });
  }
}

export async function globalSetup(): Promise<void> {
  assertTestTools();
  const brokers = process.env.KAFKA_BROKERS;
  const registry = process.env.SCHEMA_REGISTRY_URL;
  if (Boolean(brokers) !== Boolean(registry)) {
    throw new Error(
      'set both KAFKA_BROKERS and SCHEMA_REGISTRY_URL, or neither (then the tests start the local infrastructure)',
    );
  }
  const secure = secureTestSettings();
  const [plain, secured] = await Promise.all([
    brokers && registry ? undefined : start(plainTestSettings(), 'local Kafka + schema registry'),
    process.env.HOTSTATE_TEST_SECURE_INFRA || process.env.HOTSTATE_TEST_SECURE === '0'
      ? undefined
      : start(secure, 'secured Kafka + registry'),
  ]);
  if (plain) {
    process.env.KAFKA_BROKERS = plain.endpoints.kafkaBrokers.join(',');
    process.env.SCHEMA_REGISTRY_URL = plain.endpoints.schemaRegistryUrl;
    if (plain.endpoints.postgresUrl) process.env.POSTGRES_URL = plain.endpoints.postgresUrl;
    if (plain.endpoints.connectUrl) process.env.KAFKA_CONNECT_URL = plain.endpoints.connectUrl;
  }
  if (secured) {
    const files = secureFiles(secure);
    process.env.HOTSTATE_TEST_SECURE_INFRA = JSON.stringify({
      brokers: secured.endpoints.kafkaBrokers,
      registryUrl: secured.endpoints.schemaRegistryUrl,
      dir: files.dir,
      postgresUrl: secured.endpoints.postgresUrl,
      connectUrl: secured.endpoints.connectUrl,
    });
  }
}

export async function globalTeardown(): Promise<void> {
  for (const settings of started) await down(settings);
}
