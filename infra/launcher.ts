// up / down / status of the local infrastructure. What is running is described by `.infra/run/cluster.json`, so
// `down` and `status` need no flags, and `up` with different settings than the running cluster is refused.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apicurioJar, connectPlugins, kafkaLibs, postgresDist } from './distributions.ts';
import { connectAnswers, connectName, connectWorkerGroup, startConnect, waitForConnect } from './kafka-connect.ts';
import { postgresAnswers, postgresName, preparePostgres, startPostgres, waitForPostgres } from './postgres-server.ts';
import { findJava } from './java.ts';
import {
  clusterIdFor,
  kafkaAnswers,
  kafkaNodeName,
  prepareKafkaNode,
  startKafkaNode,
  waitForKafka,
} from './kafka-broker.ts';
import { liveRecord, logFile, portInUse, stop, type ProcessRecord } from './processes.ts';
import {
  chooseRegistryRuntime,
  registryAnswers,
  registryName,
  startRegistry,
  waitForRegistry,
} from './schema-registry.ts';
import { prometheusAnswers, prometheusName, startPrometheus, waitForPrometheus } from './prometheus-server.ts';
import {
  brokerPort,
  endpoints,
  registryBackendPort,
  registryBackendUrl,
  registryManagementPort,
  type Endpoints,
  type InfraSettings,
} from './settings.ts';
import {
  connectSecurityProperties,
  grantConnectAcls,
  grantDevelopmentAcls,
  prepareSecureFiles,
  registryFrontAnswers,
  registryFrontName,
  secureFiles,
  startRegistryFront,
  type SecureFiles,
  waitForRegistryFront,
} from './secure-cluster.ts';

export type Log = (line: string) => void;

interface ClusterState {
  readonly brokerCount: 1 | 3;
  readonly prometheus: boolean;
  readonly prometheusPort: number;
  readonly kafkaPort: number;
  readonly registryPort: number;
  readonly kafkaVersion: string;
  readonly registryVersion: string;
  readonly secure: boolean;
  readonly cdc: boolean;
  readonly postgresPort: number;
  readonly connectPort: number;
}

const stateFile = (dir: string): string => join(dir, 'run', 'cluster.json');

function readState(dir: string): ClusterState | undefined {
  const file = stateFile(dir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ClusterState) : undefined;
}

/** Settings of the cluster already recorded in this folder, or the given ones when nothing is recorded. */
export function effectiveSettings(s: InfraSettings): InfraSettings {
  const state = readState(s.dir);
  return state ? { ...s, ...state } : s;
}

const componentNames = (s: InfraSettings): string[] => [
  ...Array.from({ length: s.brokerCount }, (_, i) => kafkaNodeName(i)),
  registryName,
  ...(s.prometheus ? [prometheusName] : []),
  ...(s.secure ? [registryFrontName] : []),
  ...(s.cdc ? [postgresName, connectName] : []),
];

export interface UpResult {
  readonly endpoints: Endpoints;
  /** Components this call started (empty when everything was already running). */
  readonly started: string[];
  readonly seconds: number;
}

export async function up(requested: InfraSettings, log: Log = () => undefined): Promise<UpResult> {
  const began = performance.now();
  const recorded = readState(requested.dir);
  if (recorded && componentNames({ ...requested, ...recorded }).some((name) => liveRecord(requested.dir, name))) {
    const differs = (['brokerCount', 'kafkaPort', 'registryPort', 'kafkaVersion', 'secure'] as const).filter(
      (k) => recorded[k] !== requested[k],
    );
    if (differs.length > 0) {
      throw new Error(
        `a cluster with other settings is running (${differs.map((k) => `${k}=${String(recorded[k])}`).join(', ')}); run \`infra down\` first`,
      );
    }
  }
  // `up --cdc` adds PostgreSQL and Connect to a running cluster; a plain `up` keeps them.
  const s = { ...requested, cdc: requested.cdc || (recorded?.cdc ?? false) };
  const where = endpoints(s);
  const kafkaJava = findJava(17);
  if (!kafkaJava) throw new Error('Kafka needs Java 17 or newer; none found on JAVA_HOME, PATH or /usr/lib/jvm');
  const registry = chooseRegistryRuntime(s);
  if (registry.notice) log(registry.notice);

  const missingKafka = Array.from({ length: s.brokerCount }, (_, i) => i).filter(
    (i) => !liveRecord(s.dir, kafkaNodeName(i)),
  );
  const registryRunning = liveRecord(s.dir, registryName) !== undefined;
  const prometheusMissing = s.prometheus && liveRecord(s.dir, prometheusName) === undefined;
  const frontMissing = s.secure && liveRecord(s.dir, registryFrontName) === undefined;
  const postgresMissing = s.cdc && liveRecord(s.dir, postgresName) === undefined;
  const connectMissing = s.cdc && liveRecord(s.dir, connectName) === undefined;
  const started: ProcessRecord[] = [];
  try {
    await assertPortsFree([
      ...missingKafka.map((i) => brokerPort(s, i)),
      ...(registryRunning ? [] : [registryBackendPort(s), registryManagementPort(s)]),
      ...(frontMissing ? [s.registryPort] : []),
      ...(prometheusMissing ? [s.prometheusPort] : []),
      ...(postgresMissing ? [s.postgresPort] : []),
      ...(connectMissing ? [s.connectPort] : []),
    ]);
    if (missingKafka.length > 0 || !registryRunning)
      log(`fetching Kafka ${s.kafkaVersion} and Apicurio Registry ${registry.version} (cached in ${s.cacheDir})`);
    const [libs, jar] = await Promise.all([
      kafkaLibs(s.cacheDir, s.kafkaVersion, s.log4jVersion),
      apicurioJar(s.cacheDir, registry.version),
    ]);
    mkdirSync(join(s.dir, 'run'), { recursive: true });
    writeFileSync(
      stateFile(s.dir),
      JSON.stringify(
        {
          brokerCount: s.brokerCount,
          kafkaPort: s.kafkaPort,
          registryPort: s.registryPort,
          prometheus: s.prometheus,
          prometheusPort: s.prometheusPort,
          kafkaVersion: s.kafkaVersion,
          registryVersion: registry.version,
          secure: s.secure,
          cdc: s.cdc,
          postgresPort: s.postgresPort,
          connectPort: s.connectPort,
        } satisfies ClusterState,
        null,
        2,
      ),
    );
    const clusterId = clusterIdFor(s.dir);
    const secure = s.secure ? prepareSecureFiles(s) : undefined;
    for (const index of missingKafka) {
      const node = await prepareKafkaNode(s, index, libs, kafkaJava.executable, clusterId, secure);
      started.push(startKafkaNode(s, node, libs, kafkaJava.executable));
      log(`started ${node.name} on ${where.kafkaBrokers[index] ?? '?'} (java ${kafkaJava.major})`);
    }
    if (!registryRunning) {
      started.push(startRegistry(s, jar, registry.java.executable));
      log(`started Apicurio Registry ${registry.version} on ${registryBackendUrl(s)} (java ${registry.java.major})`);
    }
    if (secure && frontMissing) {
      started.push(startRegistryFront(s, secure));
      log(`started the registry's HTTPS + basic-auth front on ${where.schemaRegistryUrl}`);
    }
    if (prometheusMissing) {
      started.push(startPrometheus(s));
      log(
        `started Prometheus on http://127.0.0.1:${String(s.prometheusPort)} scraping ${s.prometheusTargets.join(', ')}`,
      );
    }
    const kafkaRecords = componentNames(s)
      .slice(0, s.brokerCount)
      .map((name) => liveRecord(s.dir, name))
      .filter((r) => r !== undefined);
    const registryRecord = liveRecord(s.dir, registryName);
    if (kafkaRecords.length !== s.brokerCount || !registryRecord)
      throw new Error(`a component exited right after start; see ${join(s.dir, 'logs')}`);
    const prometheusRecord = s.prometheus ? liveRecord(s.dir, prometheusName) : undefined;
    await Promise.all([
      waitForKafka(s, kafkaRecords, where.kafkaBrokers, secure),
      waitForRegistry(s, registryRecord, registryBackendUrl(s)),
      ...(prometheusRecord ? [waitForPrometheus(s, prometheusRecord)] : []),
    ]);
    if (secure) {
      const front = liveRecord(s.dir, registryFrontName);
      if (!front) throw new Error(`the registry front exited right after start; see ${join(s.dir, 'logs')}`);
      await waitForRegistryFront(s, secure, front, where.schemaRegistryUrl);
      await grantDevelopmentAcls(secure, where.kafkaBrokers);
      if (s.cdc) await grantConnectAcls(secure, where.kafkaBrokers, connectWorkerGroup);
    }
    if (s.cdc)
      started.push(...(await startCdc(s, libs, kafkaJava.executable, postgresMissing, connectMissing, log, secure)));
  } catch (error) {
    for (const record of started) await stop(s.dir, record.name, 10_000);
    throw error;
  }
  const seconds = (performance.now() - began) / 1000;
  log(
    `ready in ${seconds.toFixed(1)} s: KAFKA_BROKERS=${where.kafkaBrokers.join(',')} SCHEMA_REGISTRY_URL=${where.schemaRegistryUrl}${s.secure ? ' (secured: `infra env` prints the client settings)' : ''}`,
  );
  return { endpoints: where, started: started.map((r) => r.name), seconds };
}

/** PostgreSQL and Kafka Connect (once Kafka answers: Connect keeps its state in topics). Returns what it started. */
async function startCdc(
  s: InfraSettings,
  libs: string,
  java: string,
  postgresMissing: boolean,
  connectMissing: boolean,
  log: Log,
  secure: SecureFiles | undefined,
): Promise<ProcessRecord[]> {
  const where = endpoints(s);
  const started: ProcessRecord[] = [];
  if (postgresMissing || connectMissing)
    log(`fetching PostgreSQL ${s.postgresVersion} and Debezium ${s.debeziumVersion} (cached in ${s.cacheDir})`);
  const [dist, plugins] = await Promise.all([
    postgresDist(s.cacheDir, s.postgresVersion),
    connectPlugins(s.cacheDir, s.debeziumVersion, libs, java),
  ]);
  if (postgresMissing) {
    started.push(startPostgres(s, await preparePostgres(s, dist)));
    log(`started PostgreSQL ${s.postgresVersion} on ${where.postgresUrl ?? '?'} (wal_level=logical)`);
  }
  if (connectMissing) {
    started.push(
      startConnect(s, where.kafkaBrokers, libs, plugins, java, secure ? connectSecurityProperties(secure) : {}),
    );
    log(
      `started Kafka Connect with Debezium ${s.debeziumVersion} on ${where.connectUrl ?? '?'}${secure ? ' (SASL_SSL as principal connect)' : ''}`,
    );
  }
  const postgres = liveRecord(s.dir, postgresName);
  const connect = liveRecord(s.dir, connectName);
  if (!postgres || !connect) throw new Error(`a CDC component exited right after start; see ${join(s.dir, 'logs')}`);
  await Promise.all([
    waitForPostgres(s, postgres, where.postgresUrl ?? ''),
    waitForConnect(s, connect, where.connectUrl ?? ''),
  ]);
  return started;
}

async function assertPortsFree(ports: number[]): Promise<void> {
  for (const port of ports) {
    if (await portInUse(port)) {
      throw new Error(
        `port ${port} on 127.0.0.1 is used by a process this launcher did not start; free it or choose other ports (HOTSTATE_KAFKA_PORT, HOTSTATE_REGISTRY_PORT)`,
      );
    }
  }
}

/**
 * Stops one component by name (for fault tests), keeping its data: `kill` is kill -9, as a crash; otherwise a
 * graceful stop. `up` starts it again on the same data.
 */
export async function stopComponent(requested: InfraSettings, name: string, how: 'kill' | 'stop'): Promise<void> {
  const s = effectiveSettings(requested);
  if (!componentNames(s).includes(name))
    throw new Error(`no component ${JSON.stringify(name)}; this cluster has ${componentNames(s).join(', ')}`);
  const graceful = name === postgresName ? 'SIGINT' : 'SIGTERM'; // PostgreSQL's fast shutdown
  if (!(await stop(s.dir, name, 30_000, how === 'kill' ? 'SIGKILL' : graceful)))
    throw new Error(`${name} is not running`);
}

/** Stops every process this folder's launcher started, including any whose pid file was lost, then wipes data. */
export async function down(
  requested: InfraSettings,
  options: { keepData?: boolean } = {},
  log: Log = () => undefined,
): Promise<string[]> {
  const s = effectiveSettings(requested);
  const names = componentNames(s);
  // PostgreSQL's SIGTERM waits for every client to leave; SIGINT is its fast shutdown.
  const stopped = await Promise.all(
    names.map(async (name) =>
      (await stop(s.dir, name, 30_000, name === postgresName ? 'SIGINT' : 'SIGTERM')) ? name : undefined,
    ),
  );
  for (const pid of strayPids(s.dir)) {
    log(`stopping stray process ${pid} left by an earlier run`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile (a database's worker processes end with their postmaster)
    }
  }
  if (!options.keepData) {
    // The registry keeps its schemas in memory, so Kafka data would point at schema ids that no longer exist.
    for (let i = 0; i < 3; i++) rmSync(join(s.dir, kafkaNodeName(i)), { recursive: true, force: true });
    rmSync(join(s.dir, prometheusName), { recursive: true, force: true });
    rmSync(join(s.dir, postgresName), { recursive: true, force: true });
    rmSync(join(s.dir, connectName), { recursive: true, force: true });
    rmSync(join(s.dir, 'cluster-id'), { force: true });
  }
  rmSync(stateFile(s.dir), { force: true });
  return stopped.filter((name) => name !== undefined);
}

/** Pids of processes whose command line carries this folder's marker. */
export function strayPids(dir: string): number[] {
  const prefix = `-Dhotstate.infra=${dir}/`;
  const out = execFileSync('ps', ['-eo', 'pid=,command='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes(prefix))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

export interface ComponentStatus {
  readonly name: string;
  readonly pid?: number;
  readonly running: boolean;
  readonly answering: boolean;
  readonly endpoint: string;
  readonly logFile: string;
}

export async function status(requested: InfraSettings): Promise<ComponentStatus[]> {
  const s = effectiveSettings(requested);
  const where = endpoints(s);
  const secure = s.secure ? secureFiles(s) : undefined;
  const kafkaUp = await kafkaAnswers(where.kafkaBrokers, s.brokerCount, secure).catch(() => false);
  const registryUp = await registryAnswers(registryBackendUrl(s)).catch(() => false);
  const frontUp = secure ? await registryFrontAnswers(secure, where.schemaRegistryUrl).catch(() => false) : false;
  const prometheusUp = s.prometheus && (await prometheusAnswers(s.prometheusPort).catch(() => false));
  const postgresUp = s.cdc && (await postgresAnswers(where.postgresUrl ?? '').catch(() => false));
  const connectUp = s.cdc && (await connectAnswers(where.connectUrl ?? '').catch(() => false));
  return componentNames(s).map((name, index) => {
    const record = liveRecord(s.dir, name);
    if (name === postgresName || name === connectName) {
      return {
        name,
        ...(record ? { pid: record.pid } : {}),
        running: record !== undefined,
        answering: name === postgresName ? postgresUp : connectUp,
        endpoint: (name === postgresName ? where.postgresUrl : where.connectUrl) ?? '',
        logFile: logFile(s.dir, name),
      };
    }
    const isRegistry = name === registryName;
    const isPrometheus = name === prometheusName;
    if (name === registryFrontName) {
      return {
        name,
        ...(record ? { pid: record.pid } : {}),
        running: record !== undefined,
        answering: frontUp,
        endpoint: where.schemaRegistryUrl,
        logFile: logFile(s.dir, name),
      };
    }
    return {
      name,
      ...(record ? { pid: record.pid } : {}),
      running: record !== undefined,
      answering: isPrometheus ? prometheusUp : isRegistry ? registryUp : kafkaUp,
      endpoint: isPrometheus
        ? `http://127.0.0.1:${String(s.prometheusPort)}`
        : isRegistry
          ? registryBackendUrl(s)
          : (where.kafkaBrokers[index] ?? ''),
      logFile: logFile(s.dir, name),
    };
  });
}

export function logNames(requested: InfraSettings): string[] {
  return componentNames(effectiveSettings(requested));
}
