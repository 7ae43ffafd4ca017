// Kafka Connect in distributed mode, from the broker's own jars (kafka-tools brings connect-runtime), with the
// Debezium PostgreSQL connector and Apicurio's Avro converter as plugins. Its internal topics live on our cluster.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { markerFor, startDetached, waitUntilReady, type ProcessRecord } from './processes.ts';
import { projectRoot, type InfraSettings } from './settings.ts';

export const connectName = 'connect';

/**
 * How often Connect commits source offsets (the connector's LSN). Read-your-database-writes waits for that commit,
 * so it bounds that wait; 100 ms costs one small write per task per flush.
 */
export const offsetFlushIntervalMs = 100;

/** The worker group; not hotstate-*: views join no consumer group, and tests check that. */
export const connectWorkerGroup = 'local-connect';

/**
 * The worker's settings; `security` (the secured cluster's SASL_SSL client settings) is added as it is. Connectors
 * may name secrets as `${dir:<folder>:<file>}` (Kafka's DirectoryConfigProvider), so that a password file's content
 * reaches the connector without ever appearing in its config (which Connect's REST API shows).
 */
export function connectWorkerProperties(
  s: InfraSettings,
  brokers: string[],
  pluginDir: string,
  security: Record<string, string> = {},
): string {
  const replication = String(s.brokerCount === 3 ? 3 : 1);
  const settings: Record<string, string> = {
    'bootstrap.servers': brokers.join(','),
    'group.id': connectWorkerGroup,
    listeners: `http://127.0.0.1:${String(s.connectPort)}`,
    'rest.advertised.host.name': '127.0.0.1',
    'rest.advertised.port': String(s.connectPort),
    'plugin.path': pluginDir,
    'plugin.discovery': 'service_load',
    // Connectors name their own converters; these only apply to a connector that names none.
    'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'config.storage.topic': 'connect-configs',
    'offset.storage.topic': 'connect-offsets',
    'status.storage.topic': 'connect-status',
    'config.storage.replication.factor': replication,
    'offset.storage.replication.factor': replication,
    'status.storage.replication.factor': replication,
    'offset.flush.interval.ms': String(offsetFlushIntervalMs),
    'topic.creation.enable': 'true',
    // A restarted worker rejoins at once instead of waiting for its old member's session to expire.
    'scheduled.rebalance.max.delay.ms': '0',
    'config.providers': 'dir',
    'config.providers.dir.class': 'org.apache.kafka.common.config.provider.DirectoryConfigProvider',
    ...security,
  };
  return Object.entries(settings)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
}

export function startConnect(
  s: InfraSettings,
  brokers: string[],
  kafkaLibsDir: string,
  pluginDir: string,
  java: string,
  security: Record<string, string> = {},
): ProcessRecord {
  const home = join(s.dir, connectName);
  mkdirSync(home, { recursive: true });
  const config = join(home, 'worker.properties');
  // Mode 0600: on the secured cluster it holds Connect's password.
  writeFileSync(config, connectWorkerProperties(s, brokers, pluginDir, security), { mode: 0o600 });
  return startDetached(
    s.dir,
    connectName,
    java,
    [
      `-Xmx${String(s.connectHeapMb)}m`,
      '-XX:+UseSerialGC',
      markerFor(s.dir, connectName),
      `-Dlog4j2.configurationFile=${join(projectRoot, 'infra', 'kafka', 'log4j2.properties')}`,
      '-cp',
      `${kafkaLibsDir}/*`,
      'org.apache.kafka.connect.cli.ConnectDistributed',
      config,
    ],
    home,
  );
}

/** Connect answers once its REST API lists connectors (the web server answers 404 before the herder started). */
export async function connectAnswers(url: string): Promise<boolean> {
  const response = await fetch(`${url}/connectors`, { signal: AbortSignal.timeout(2000) });
  return response.ok;
}

export async function waitForConnect(s: InfraSettings, record: ProcessRecord, url: string): Promise<void> {
  await waitUntilReady(record, 'Kafka Connect', s.startTimeoutMs, () => connectAnswers(url));
}
