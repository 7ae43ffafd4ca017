// One KRaft node (combined broker + controller) per process: writes its properties, formats its storage once,
// starts it and waits until the cluster answers metadata requests with every broker.
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { markerFor, startDetached, waitUntilReady, type ProcessRecord } from './processes.ts';
import { brokerPort, controllerPort, projectRoot, type InfraSettings } from './settings.ts';
import { kafkajsSecurity, scramFormatArgs, secureBrokerProperties, type SecureFiles } from './secure-cluster.ts';

const run = promisify(execFile);
export const kafkaNodeName = (index: number): string => `kafka-${index + 1}`;

export function brokerProperties(s: InfraSettings, index: number, logDir: string, secure?: SecureFiles): string {
  const n = s.brokerCount;
  const replicated = n >= 3;
  const voters = Array.from({ length: n }, (_, i) => `${i + 1}@127.0.0.1:${controllerPort(s, i)}`).join(',');
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': index + 1,
    'controller.quorum.voters': voters,
    listeners: `PLAINTEXT://127.0.0.1:${brokerPort(s, index)},CONTROLLER://127.0.0.1:${controllerPort(s, index)}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${brokerPort(s, index)}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': logDir,
    'num.partitions': 1,
    'default.replication.factor': replicated ? 3 : 1,
    'min.insync.replicas': replicated ? 2 : 1,
    'offsets.topic.replication.factor': replicated ? 3 : 1,
    'transaction.state.log.replication.factor': replicated ? 3 : 1,
    'transaction.state.log.min.isr': replicated ? 2 : 1,
    'share.coordinator.state.topic.replication.factor': replicated ? 3 : 1,
    'share.coordinator.state.topic.min.isr': replicated ? 2 : 1,
    // A topic name typo must fail, not create a topic with default (non-compacted) settings.
    'auto.create.topics.enable': false,
    // Test-friendly: consumer groups start at once, the cleaner looks for work every second.
    'group.initial.rebalance.delay.ms': 0,
    'log.cleaner.backoff.ms': 1000,
    'log.cleaner.dedupe.buffer.size': 32 * 1024 * 1024,
    'log.retention.check.interval.ms': 5000,
  };
  if (secure) {
    Object.assign(
      props,
      secureBrokerProperties(
        secure,
        `SASL_SSL://127.0.0.1:${brokerPort(s, index)},CONTROLLER://127.0.0.1:${controllerPort(s, index)}`,
      ),
    );
    props['advertised.listeners'] = `SASL_SSL://127.0.0.1:${brokerPort(s, index)}`;
  }
  return (
    Object.entries(props)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join('\n') + '\n'
  );
}

export interface KafkaNode {
  readonly name: string;
  readonly home: string;
  readonly propertiesFile: string;
}

/** Writes properties and formats storage (only once per data folder; `down` wipes it). */
export async function prepareKafkaNode(
  s: InfraSettings,
  index: number,
  libs: string,
  java: string,
  clusterId: string,
  secure?: SecureFiles,
): Promise<KafkaNode> {
  const name = kafkaNodeName(index);
  const home = join(s.dir, name);
  const dataDir = join(home, 'data');
  mkdirSync(dataDir, { recursive: true });
  const propertiesFile = join(home, 'server.properties');
  writeFileSync(propertiesFile, brokerProperties(s, index, dataDir, secure), { mode: 0o600 }); // holds the admin password when secure
  if (!existsSync(join(dataDir, 'meta.properties'))) {
    try {
      await run(java, [
        '-cp',
        join(libs, '*'),
        `-Dlog4j2.configurationFile=${log4jConfig}`,
        'kafka.tools.StorageTool',
        'format',
        `--cluster-id=${clusterId}`,
        '-c',
        propertiesFile,
        ...(secure ? scramFormatArgs(secure) : []),
      ]);
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      throw new Error(
        `formatting KRaft storage of ${name} failed:\n${(e.stdout ?? '') + (e.stderr ?? '') || e.message}`,
        { cause: error },
      );
    }
  }
  return { name, home, propertiesFile };
}

const log4jConfig = join(projectRoot, 'infra', 'kafka', 'log4j2.properties');

/**
 * A KRaft cluster id: 16 random bytes, base64url without padding (22 characters). One in 64 starts with '-', so it
 * is passed as `--cluster-id=<id>`: as a separate argument the tool's parser would take it for an option.
 */
export function clusterIdFor(dir: string): string {
  const file = join(dir, 'cluster-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const id = randomBytes(16).toString('base64url');
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, id);
  return id;
}

export function startKafkaNode(s: InfraSettings, node: KafkaNode, libs: string, java: string): ProcessRecord {
  const args = [
    `-Xms${Math.min(256, s.kafkaHeapMb)}m`,
    `-Xmx${s.kafkaHeapMb}m`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4jConfig}`,
    markerFor(s.dir, node.name),
    '-cp',
    join(libs, '*'),
    'kafka.Kafka',
    node.propertiesFile,
  ];
  return startDetached(s.dir, node.name, java, args, node.home);
}

/** True once a metadata request lists every broker of the cluster. */
export async function kafkaAnswers(brokers: string[], expectedBrokers: number, secure?: SecureFiles): Promise<boolean> {
  const admin = new kafkajs.Kafka({
    brokers,
    clientId: 'hotstate-infra',
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
    logLevel: kafkajs.logLevel.NOTHING,
    ...(secure ? kafkajsSecurity(secure, 'admin') : {}),
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length >= expectedBrokers && cluster.controller !== null;
  } finally {
    await admin.disconnect();
  }
}

export async function waitForKafka(
  s: InfraSettings,
  records: ProcessRecord[],
  brokers: string[],
  secure?: SecureFiles,
): Promise<void> {
  for (const record of records) {
    await waitUntilReady(record, `Kafka node ${record.name}`, s.startTimeoutMs, () =>
      kafkaAnswers(brokers, s.brokerCount, secure),
    );
  }
}
