// Runs once before all test files (node --test-global-setup). Integration tests reach Kafka and the registry
// through KAFKA_BROKERS and SCHEMA_REGISTRY_URL; when those are not set, the local infrastructure is started
// here and stopped again at the end. Nothing is skipped when it cannot start: the whole run fails.
import { down, up } from '../infra/launcher.ts';
import { loadInfraSettings } from '../infra/settings.ts';
import { assertTestTools } from './preflight.ts';

let startedHere = false;

export async function globalSetup(): Promise<void> {
  assertTestTools();
  const brokers = process.env.KAFKA_BROKERS;
  const registry = process.env.SCHEMA_REGISTRY_URL;
  if (brokers && registry) return;
  if (brokers || registry) {
    throw new Error('set both KAFKA_BROKERS and SCHEMA_REGISTRY_URL, or neither (then the tests start the local infrastructure)');
  }
  const settings = loadInfraSettings();
  try {
    const result = await up(settings, (line) => process.stderr.write(`infra: ${line}\n`));
    startedHere = result.started.length > 0;
    process.env.KAFKA_BROKERS = result.endpoints.kafkaBrokers.join(',');
    process.env.SCHEMA_REGISTRY_URL = result.endpoints.schemaRegistryUrl;
  } catch (error) {
    throw new Error(`the local Kafka + schema registry could not start, so integration tests cannot run:\n${(error as Error).message}`, { cause: error });
  }
}

export async function globalTeardown(): Promise<void> {
  if (startedHere) await down(loadInfraSettings());
}
