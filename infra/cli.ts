// `npm run infra -- <up|down|status|logs|env> [options]`: the local Kafka + schema registry (+ PostgreSQL and Kafka
// Connect with Debezium for CDC), without Docker.
import { parseArgs } from 'node:util';
import { down, logNames, status, stopComponent, up } from './launcher.ts';
import { logFile, tail } from './processes.ts';
import { endpoints, loadInfraSettings, type InfraSettings } from './settings.ts';
import { effectiveSettings } from './launcher.ts';
import { clientEnv, connectConverterEnv, secureFiles } from './secure-cluster.ts';

const usage = `usage: npm run infra -- <command> [options]

commands:
  up       fetch (first time), start and wait until Kafka and the schema registry are ready; idempotent
  down     stop every process this launcher started and delete their data (logs stay)
  status   show each component; exit code 0 when all run and answer, 3 otherwise
  logs     print the last lines of each component's log (or of the one named: logs kafka-1)
  env      print KAFKA_BROKERS and SCHEMA_REGISTRY_URL as shell exports
  kill     kill -9 one component by name, keeping its data (kill kafka-2); up starts it again
  stop     stop one component gracefully by name, keeping its data (stop kafka-2); up starts it again

options:
  --brokers <1|3>       broker count for up (3 = RF 3, min ISR 2)      [HOTSTATE_KAFKA_BROKER_COUNT, 1]
  --kafka-port <port>   first broker's port                            [HOTSTATE_KAFKA_PORT, 9092]
  --registry-port <p>   schema registry port                           [HOTSTATE_REGISTRY_PORT, 8081]
  --prometheus          with up: also start Prometheus (compose config, local targets)  [HOTSTATE_PROMETHEUS, off]
  --secure              with up: SASL_SSL + SCRAM + ACLs on Kafka, HTTPS + basic auth on the registry;
                        env then prints the client settings (password and CA files)  [HOTSTATE_INFRA_SECURE, off]
  --cdc                 with up: also PostgreSQL (wal_level=logical) and Kafka Connect with Debezium's PostgreSQL
                        connector and an Avro converter to the registry; env then prints POSTGRES_URL and
                        KAFKA_CONNECT_URL (with --secure also CDC_REGISTRY_*: Connect runs as principal
                        connect)  [HOTSTATE_INFRA_CDC, off; ports HOTSTATE_POSTGRES_PORT 5433,
                        HOTSTATE_CONNECT_PORT 8083]
  --keep-data           with down: keep Kafka's data folders
  --lines <n>           with logs: how many lines                      [40]
  -h, --help            this text`;

function fail(message: string, code = 1): never {
  process.stderr.write(`infra: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      brokers: { type: 'string' },
      'kafka-port': { type: 'string' },
      'registry-port': { type: 'string' },
      'keep-data': { type: 'boolean', default: false },
      prometheus: { type: 'boolean', default: false },
      secure: { type: 'boolean', default: false },
      cdc: { type: 'boolean', default: false },
      lines: { type: 'string', default: '40' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const env = { ...process.env };
  if (values.brokers !== undefined) env.HOTSTATE_KAFKA_BROKER_COUNT = values.brokers;
  if (values['kafka-port'] !== undefined) env.HOTSTATE_KAFKA_PORT = values['kafka-port'];
  if (values['registry-port'] !== undefined) env.HOTSTATE_REGISTRY_PORT = values['registry-port'];
  if (values.prometheus) env.HOTSTATE_PROMETHEUS = '1';
  if (values.secure) env.HOTSTATE_INFRA_SECURE = '1';
  if (values.cdc) env.HOTSTATE_INFRA_CDC = '1';
  const settings = loadInfraSettings(env);
  const say = (line: string): void => {
    process.stdout.write(`infra: ${line}\n`);
  };

  switch (command) {
    case 'up': {
      const result = await up(settings, say);
      if (result.started.length === 0) say('already running');
      return;
    }
    case 'down': {
      const stopped = await down(settings, { keepData: values['keep-data'] }, say);
      say(stopped.length > 0 ? `stopped ${stopped.join(', ')}` : 'nothing was running');
      return;
    }
    case 'kill':
    case 'stop': {
      const [name] = rest;
      if (name === undefined) fail(`${command} needs a component name, e.g. ${command} kafka-2`, 2);
      await stopComponent(settings, name, command);
      say(`${command === 'kill' ? 'killed' : 'stopped'} ${name}; its data is kept (up starts it again)`);
      break;
    }
    case 'status':
      return printStatus(settings);
    case 'logs': {
      const lines = Number(values.lines);
      if (!Number.isInteger(lines) || lines < 1) fail(`--lines ${values.lines}: expected a positive integer`);
      const names = rest.length > 0 ? rest : logNames(settings);
      for (const name of names) process.stdout.write(`==> ${name} <==\n${tail(logFile(settings.dir, name), lines)}\n`);
      return;
    }
    case 'env': {
      const effective = effectiveSettings(settings);
      const where = endpoints(effective);
      const files = effective.secure ? secureFiles(effective) : undefined;
      const secured = files ? { ...clientEnv(files), ...(effective.cdc ? connectConverterEnv(files) : {}) } : {};
      const lines = {
        KAFKA_BROKERS: where.kafkaBrokers.join(','),
        SCHEMA_REGISTRY_URL: where.schemaRegistryUrl,
        ...(where.postgresUrl ? { POSTGRES_URL: where.postgresUrl } : {}),
        ...(where.connectUrl ? { KAFKA_CONNECT_URL: where.connectUrl } : {}),
        ...secured,
      };
      process.stdout.write(
        Object.entries(lines)
          .map(([name, value]) => `export ${name}=${value}\n`)
          .join(''),
      );
      return;
    }
    default:
      fail(`unknown command ${JSON.stringify(command)}\n${usage}`, 2);
  }
}

async function printStatus(settings: InfraSettings): Promise<void> {
  const components = await status(settings);
  for (const c of components) {
    const state = c.running
      ? c.answering
        ? 'ready'
        : 'starting or unhealthy'
      : c.answering
        ? 'answering (not started by this launcher)'
        : 'stopped';
    process.stdout.write(
      `${c.name.padEnd(16)} ${state.padEnd(24)} ${c.endpoint.padEnd(44)} ${c.pid === undefined ? '' : `pid ${c.pid}`}\n`,
    );
  }
  if (!components.every((c) => c.running && c.answering)) process.exitCode = 3;
}

main().catch((error: unknown) => {
  fail(error instanceof Error ? error.message : String(error));
});
