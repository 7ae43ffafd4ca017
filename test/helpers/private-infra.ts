// A Kafka node or a schema registry of a test's own, on its own ports, for tests that stop it on purpose
// (broker or registry outages) without disturbing the shared infrastructure.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { apicurioJar, kafkaLibs } from '../../infra/distributions.ts';
import { findJava } from '../../infra/java.ts';
import {
  clusterIdFor,
  kafkaNodeName,
  prepareKafkaNode,
  startKafkaNode,
  waitForKafka,
} from '../../infra/kafka-broker.ts';
import { stop } from '../../infra/processes.ts';
import { chooseRegistryRuntime, registryName, startRegistry, waitForRegistry } from '../../infra/schema-registry.ts';
import { endpoints, loadInfraSettings, type InfraSettings } from '../../infra/settings.ts';

export interface PrivateComponent {
  readonly address: string;
  /** Stops it (SIGTERM, then SIGKILL); safe to call twice. */
  readonly stop: () => Promise<void>;
}

function settingsFor(kafkaPort: number, registryPort: number): InfraSettings {
  const dir = mkdtempSync(join(tmpdir(), 'hotstate-private-'));
  return loadInfraSettings({
    ...process.env,
    HOTSTATE_INFRA_DIR: dir,
    HOTSTATE_KAFKA_PORT: String(kafkaPort),
    HOTSTATE_REGISTRY_PORT: String(registryPort),
    HOTSTATE_KAFKA_BROKER_COUNT: '1',
  });
}

/** One cleanup hook that stops the process before its folder (with the pid file) is removed. */
function cleanup(t: TestContext, s: InfraSettings, name: string): () => Promise<void> {
  const halt = async (): Promise<void> => {
    await stop(s.dir, name, 10_000);
  };
  t.after(async () => {
    await halt();
    rmSync(s.dir, { recursive: true, force: true });
  });
  return halt;
}

export async function startPrivateKafka(t: TestContext, port: number): Promise<PrivateComponent> {
  const s = settingsFor(port, port + 1000);
  const java = findJava(17);
  if (!java) throw new Error('Java 17+ not found');
  const libs = await kafkaLibs(s.cacheDir, s.kafkaVersion, s.log4jVersion);
  const node = await prepareKafkaNode(s, 0, libs, java.executable, clusterIdFor(s.dir));
  const halt = cleanup(t, s, kafkaNodeName(0));
  const record = startKafkaNode(s, node, libs, java.executable);
  const address = endpoints(s).kafkaBrokers[0] ?? '';
  await waitForKafka(s, [record], [address]);
  return { address, stop: halt };
}

export async function startPrivateRegistry(t: TestContext, port: number): Promise<PrivateComponent> {
  const s = settingsFor(port + 1000, port);
  const runtime = chooseRegistryRuntime(s);
  const jar = await apicurioJar(s.cacheDir, runtime.version);
  const halt = cleanup(t, s, registryName);
  const record = startRegistry(s, jar, runtime.java.executable);
  const address = endpoints(s).schemaRegistryUrl;
  await waitForRegistry(s, record, address);
  return { address, stop: halt };
}
