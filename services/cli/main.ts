#!/usr/bin/env node
// The hotstate command line: emit and watch updates, manage dataset topics and schemas. The only place of the
// CLI that reads the environment (KAFKA_BROKERS, SCHEMA_REGISTRY_URL) and exits the process.
import './node-check.ts'; // first: an older Node gets one line and exit 2, before any other module runs
import { withTransport } from '../lib/transport/platformatic/platformatic-transport.ts';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { HotstateError } from '../lib/errors.ts';
import {
  aclProblems,
  assertSafeTopic,
  defaultRollbackWindowMs,
  describeTopic,
  ensureDatasetTopic,
  type TopicRole,
} from '../lib/kafka/topics.ts';
import { formatOf, type DatasetFormat } from '../lib/input/dataset-file.ts';
import { createProducer, type HotstateProducer } from '../lib/producer/producer.ts';
import { checkCatalog, loadCatalog, registerCatalog } from '../lib/schemas/catalog.ts';
import { emit } from './emit.ts';
import { exitCodeFor, exitCodes } from '../common/exit-codes.ts';
import { waitingFor, waitingOn } from './waiting.ts';
import { watchFile } from './watch.ts';
import { top } from './top.ts';
import { cliLogger, dump, get, readyView, syncFile, tail } from './view-commands.ts';
import { inspectSnapshot, saveSnapshot } from './snapshot-commands.ts';
import { snapshotTarget } from '../lib/snapshot/snapshot-dir.ts';
import { diffCommand, rollbackCommand } from './version-commands.ts';
import { cdcAdd, cdcList, cdcRemove, cdcStatus } from './cdc-commands.ts';
import { ConnectClient } from '../lib/cdc/connect-client.ts';
import { parseVersionRef } from '../lib/history/dataset-version.ts';
import { keyHistory } from '../lib/history/key-history.ts';
import { registrySchemaSource, WriterSchemas } from '../lib/core/writer-schemas.ts';
import { valueSubject } from '../lib/registry.ts';
import { stringifyJson } from '../lib/codec/json-values.ts';
import type { HotstateView } from '../lib/view/view.ts';
import type { KafkaConnection } from '../lib/transport/transport.ts';
import type { RegistryTarget } from '../lib/registry.ts';
import {
  kafkaSecurity,
  registryTarget,
  securityProblems,
  securitySchema,
  type SecuritySettings,
} from '../lib/settings/security-settings.ts';

/** Security settings: `--kafka-sasl-username` for KAFKA_SASL_USERNAME and so on (values never shown in --help). */
const securityFlags: ReadonlyArray<[keyof SecuritySettings, string]> = [
  ['KAFKA_SECURITY_PROTOCOL', 'PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL'],
  ['KAFKA_SASL_MECHANISM', 'SCRAM-SHA-512 (default), SCRAM-SHA-256 or PLAIN'],
  ['KAFKA_SASL_USERNAME', 'SASL username'],
  ['KAFKA_SASL_PASSWORD', 'SASL password (prefer the file)'],
  ['KAFKA_SASL_PASSWORD_FILE', 'file holding the SASL password'],
  ['KAFKA_TLS_CA_FILE', 'PEM certificates to trust for the brokers'],
  ['KAFKA_TLS_CERT_FILE', 'PEM client certificate (mutual TLS)'],
  ['KAFKA_TLS_KEY_FILE', 'PEM client key (mutual TLS)'],
  ['SCHEMA_REGISTRY_USERNAME', 'registry basic-auth username'],
  ['SCHEMA_REGISTRY_PASSWORD', 'registry basic-auth password (prefer the file)'],
  ['SCHEMA_REGISTRY_PASSWORD_FILE', 'file holding the registry password'],
  ['SCHEMA_REGISTRY_CA_FILE', 'PEM certificates to trust for the registry'],
];
const optionFlag = (name: string): string =>
  name
    .toLowerCase()
    .replace(/_/g, '-')
    .replace(/^schema-registry-/, 'registry-');
const optionKey = (name: string): string => optionFlag(name).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function parseSecurity(
  raw: Record<string, string | undefined>,
): { ok: true; settings: SecuritySettings } | { ok: false; problems: string[] } {
  const parsed = securitySchema.safeParse(raw);
  if (!parsed.success)
    return { ok: false, problems: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) };
  const problems = securityProblems(parsed.data).map((p) => `${p.path}: ${p.message}`);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, settings: parsed.data };
}

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const err = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
};
const nonNegativeInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
};
const seconds = (value: string): number => {
  const n = Number(value);
  if (!(n >= 0 && Number.isFinite(n))) throw new InvalidArgumentError('expected seconds (0: no limit)');
  return n;
};
const share = (value: string): number => {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a number from 0 to 1');
  return n;
};

interface Connection {
  brokers?: string;
  registry?: string;
}

/** Where the CLI connects: brokers and registry with their security settings (flags or the same environment variables as the services). */
function connection(command: Command): { kafka: KafkaConnection; registryUrl: RegistryTarget } {
  const globals = command.optsWithGlobals<Connection & Record<string, string | undefined>>();
  const { brokers, registry } = globals;
  const problems: string[] = [];
  if (!brokers) problems.push('no Kafka brokers: pass --brokers or set KAFKA_BROKERS');
  if (!registry) problems.push('no schema registry: pass --registry or set SCHEMA_REGISTRY_URL');
  const raw = Object.fromEntries(securityFlags.map(([name]) => [name, globals[optionKey(name)]]));
  const parsed = parseSecurity(raw);
  if (!parsed.ok) problems.push(...parsed.problems);
  if (problems.length > 0 || !brokers || !registry || !parsed.ok)
    throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', problems.join('; '));
  return {
    kafka: {
      brokers: brokers
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
      clientId: 'hotstate-cli',
      logger: cliLogger,
      ...kafkaSecurity(parsed.settings),
    },
    registryUrl: registryTarget(registry, parsed.settings),
  };
}

interface ProducerFlags {
  topic: string;
  schema?: string;
  registerSchema: boolean;
  source?: string;
  sourceVersion?: string;
  traceId?: string;
  maxValueBytes: number;
}

async function producerFor(command: Command, flags: ProducerFlags): Promise<HotstateProducer> {
  const { kafka, registryUrl } = connection(command);
  const headers = {
    ...(flags.source ? { source: flags.source } : {}),
    ...(flags.sourceVersion ? { sourceVersion: flags.sourceVersion } : {}),
    ...(flags.traceId ? { traceId: flags.traceId } : {}),
  };
  waitingOn(`Kafka (${kafka.brokers.join(',')}) and the schema registry to connect the producer of ${flags.topic}`);
  return createProducer({
    kafka,
    registryUrl,
    topic: flags.topic,
    ...(flags.schema ? { schema: readFileSync(flags.schema, 'utf8') } : {}),
    registerSchema: flags.registerSchema,
    headers,
    maxValueBytes: flags.maxValueBytes,
  });
}

function withProducerOptions(command: Command): Command {
  return command
    .requiredOption('-t, --topic <topic>', 'dataset topic')
    .option('--schema <file.avsc>', 'writer schema (default: the latest registered under <topic>-value)')
    .option('--register-schema', 'register --schema when it is not registered yet', false)
    .option('--source <name>', 'hotstate-source header on every record')
    .option('--source-version <v>', 'hotstate-source-version header')
    .option('--trace-id <id>', 'hotstate-trace-id header')
    .option('--max-value-bytes <n>', 'cap on one encoded value', positiveInt, 1_000_000);
}

const program = new Command('hotstate')
  .description('Emit schema-registered updates to compacted Kafka topics and manage dataset topics and schemas.')
  .addOption(new Option('--brokers <host:port,...>', 'Kafka bootstrap brokers').env('KAFKA_BROKERS'))
  .addOption(new Option('--registry <url>', 'schema registry (Confluent API)').env('SCHEMA_REGISTRY_URL'));
for (const [name, description] of securityFlags)
  program.addOption(new Option(`--${optionFlag(name)} <value>`, description).env(name));
program.addOption(
  new Option(
    '--timeout <seconds>',
    'give up a one-shot command after this long, naming what it waited for (exit 8; 0: no limit; tail, top and watch without --once run until stopped)',
  )
    .env('HOTSTATE_CLI_TIMEOUT')
    .default(120)
    .argParser(seconds),
);
program
  .showHelpAfterError()
  .exitOverride()
  .hook('preAction', (_program, action) => {
    limitRunTime(action);
  });

/** Commands that run until stopped: no overall timeout. */
const runsUntilStopped = (action: Command): boolean =>
  action.name() === 'tail' ||
  (['watch', 'top'].includes(action.name()) && action.opts<{ once?: boolean }>().once !== true);

/** A one-shot command gets --timeout seconds in all; then it says what it was waiting for and exits 8. */
function limitRunTime(action: Command): void {
  const limit = action.optsWithGlobals<{ timeout: number }>().timeout;
  if (limit === 0 || runsUntilStopped(action)) return;
  setTimeout(() => {
    const error = new HotstateError(
      'HOTSTATE_ERR_COMMAND_TIMEOUT',
      `${action.name()} did not finish within ${String(limit)} s (--timeout): waiting for ${waitingFor()}`,
    );
    err(`hotstate: ${error.code}: ${error.message}`);
    process.exit(exitCodeFor(error));
  }, limit * 1000).unref();
}

withProducerOptions(
  program
    .command('emit')
    .description('send NDJSON updates ({"key","value"}; "value": null deletes) from a file or stdin'),
)
  .option('-f, --file <file>', 'NDJSON input (default: stdin)')
  .option('--skip-invalid', 'send the valid lines and report the invalid ones (exit 4)', false)
  .option('--chunk <n>', 'records per send', positiveInt, 5000)
  .option('--no-progress', 'no progress bar')
  .action(
    async (
      flags: ProducerFlags & { file?: string; skipInvalid: boolean; chunk: number; progress: boolean },
      command: Command,
    ) => {
      const producer = await producerFor(command, flags);
      try {
        process.exitCode = await emit(
          producer,
          {
            skipInvalid: flags.skipInvalid,
            chunk: flags.chunk,
            progress: flags.progress && process.stderr.isTTY,
            ...(flags.file ? { file: flags.file } : {}),
          },
          out,
          err,
        );
      } finally {
        await producer.close();
      }
    },
  );

withProducerOptions(
  program.command('watch').description('keep a topic equal to a whole-dataset file (JSON, NDJSON or CSV)'),
)
  .requiredOption('-f, --file <file>', 'the dataset file')
  .addOption(
    new Option('--format <format>', 'file format (default: from the extension)').choices(['json', 'ndjson', 'csv']),
  )
  .option('--key-field <name>', 'field holding the key in records', 'key')
  .option('--state-file <file>', 'digests of emitted values (default: <file>.hotstate-watch.json)')
  .option('--max-delete-share <0..1>', 'hold back a change deleting more than this share of the keys', share, 0.5)
  .option('--allow-mass-delete', 'emit such a change anyway', false)
  .option('--settle-ms <ms>', 'how long the file must be unchanged before it is read', positiveInt, 300)
  .option('--once', 'sync once and exit (exit 5 when held back)', false)
  .action(
    async (
      flags: ProducerFlags & {
        file: string;
        format?: DatasetFormat;
        keyField: string;
        stateFile?: string;
        maxDeleteShare: number;
        allowMassDelete: boolean;
        settleMs: number;
        once: boolean;
      },
      command: Command,
    ) => {
      const format = flags.format ?? formatOf(flags.file);
      if (!format)
        throw new HotstateError(
          'HOTSTATE_ERR_CONFIG_INVALID',
          `cannot tell the format of ${flags.file} from its extension; pass --format json|ndjson|csv`,
        );
      const producer = await producerFor(command, flags);
      try {
        process.exitCode = await watchFile(
          producer,
          {
            file: flags.file,
            format,
            keyField: flags.keyField,
            stateFile: flags.stateFile ?? `${flags.file}.hotstate-watch.json`,
            maxDeleteShare: flags.maxDeleteShare,
            allowMassDelete: flags.allowMassDelete,
            once: flags.once,
            settleMs: flags.settleMs,
          },
          out,
          err,
          untilSignal(),
        );
      } finally {
        await producer.close();
      }
    },
  );

const viewCommand = (name: string, description: string): Command =>
  program
    .command(name)
    .description(description)
    .requiredOption('-t, --topic <topic>', 'dataset topic')
    .option('--no-progress', 'no replay progress bar');
const targetOf = (command: Command, topic: string) => ({ ...connection(command), topic });
const withView = async (
  command: Command,
  topic: string,
  progress: boolean,
  use: (view: HotstateView) => Promise<number> | number,
): Promise<void> => {
  const view = await readyView(targetOf(command, topic), progress && process.stderr.isTTY);
  try {
    process.exitCode = await use(view);
  } finally {
    await view.close();
  }
};
const untilSignal = (): AbortSignal => {
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      stop.abort();
    });
  return stop.signal;
};

viewCommand('get', 'print keys as NDJSON (exit 6 when one is missing)')
  .argument('<keys...>')
  .action(async (keys: string[], flags: { topic: string; progress: boolean }, command: Command) => {
    await withView(command, flags.topic, flags.progress, (view) => get(view, keys, out, err));
  });
viewCommand('dump', 'print a whole dataset at its current version as NDJSON')
  .option('--prefix <prefix>', 'only keys with this prefix', '')
  .action(async (flags: { topic: string; progress: boolean; prefix: string }, command: Command) => {
    await withView(command, flags.topic, flags.progress, (view) => dump(view, flags.prefix, out, err));
  });
viewCommand('tail', 'print changes live as NDJSON until Ctrl-C')
  .option('--prefix <prefix>', 'only keys with this prefix', '')
  .action(async (flags: { topic: string; progress: boolean; prefix: string }, command: Command) => {
    await withView(command, flags.topic, flags.progress, (view) => tail(view, flags.prefix, out, err, untilSignal()));
  });
withProducerOptions(
  program
    .command('sync')
    .description('reconcile a whole-dataset file with the topic: upsert changed keys, delete removed ones'),
)
  .requiredOption('-f, --file <file>', 'the dataset file (JSON, NDJSON or CSV)')
  .addOption(
    new Option('--format <format>', 'file format (default: from the extension)').choices(['json', 'ndjson', 'csv']),
  )
  .option('--key-field <name>', 'field holding the key in records', 'key')
  .option('--dry-run', 'print the plan, send nothing', false)
  .option(
    '--max-delete-share <0..1>',
    'hold back a change deleting more than this share of the keys (exit 5)',
    share,
    0.5,
  )
  .option('--allow-mass-delete', 'send a change even when it deletes more than --max-delete-share', false)
  .action(
    async (
      flags: ProducerFlags & {
        file: string;
        format?: DatasetFormat;
        keyField: string;
        dryRun: boolean;
        maxDeleteShare: number;
        allowMassDelete: boolean;
      },
      command: Command,
    ) => {
      const format = flags.format ?? formatOf(flags.file);
      if (!format)
        throw new HotstateError(
          'HOTSTATE_ERR_CONFIG_INVALID',
          `cannot tell the format of ${flags.file} from its extension; pass --format json|ndjson|csv`,
        );
      const producer = await producerFor(command, flags);
      try {
        await withView(command, flags.topic, true, (view) =>
          syncFile(
            view,
            producer,
            {
              file: flags.file,
              format,
              keyField: flags.keyField,
              dryRun: flags.dryRun,
              maxDeleteShare: flags.maxDeleteShare,
              allowMassDelete: flags.allowMassDelete,
            },
            out,
            err,
          ),
        );
      } finally {
        await producer.close();
      }
    },
  );

program
  .command('top')
  .description('per dataset and partition: end offset, position, lag and readiness of running state services')
  .argument('<url...>', 'state service base URLs, e.g. http://127.0.0.1:8080')
  .option('--once', 'print once and exit', false)
  .option('--interval <ms>', 'refresh interval', positiveInt, 1000)
  .addOption(new Option('--token <token>', 'read token, when the services require one').env('HOTSTATE_READ_TOKEN'))
  .action(async (urls: string[], flags: { once: boolean; interval: number; token?: string }) => {
    process.exitCode = await top(
      urls,
      { once: flags.once, intervalMs: flags.interval, ...(flags.token ? { token: flags.token } : {}) },
      out,
      untilSignal(),
    );
  });

const topics = program.command('topics').alias('topic').description('dataset topics (compacted, safe settings)');
const topicSpecOptions = (command: Command): Command =>
  command
    .option('--partitions <n>', 'partition count', positiveInt)
    .option('--replication-factor <n>', 'replication factor', positiveInt)
    .option('--min-insync-replicas <n>', 'min.insync.replicas', positiveInt)
    .option(
      '--rollback-window-ms <ms>',
      'min.compaction.lag.ms: versions younger than this can be rebuilt for diff and rollback (set on a new topic, required of an existing one; 0 checks nothing)',
      nonNegativeInt,
      defaultRollbackWindowMs,
    )
    .option('--config <name=value...>', 'extra topic config for a new topic', []);
interface TopicFlags {
  partitions?: number;
  replicationFactor?: number;
  minInsyncReplicas?: number;
  rollbackWindowMs: number;
  config: string[];
}
const specOf = (topic: string, flags: TopicFlags) => ({
  topic,
  rollbackWindowMs: flags.rollbackWindowMs,
  minRollbackWindowMs: flags.rollbackWindowMs,
  ...(flags.partitions ? { partitions: flags.partitions } : {}),
  ...(flags.replicationFactor ? { replicationFactor: flags.replicationFactor } : {}),
  ...(flags.minInsyncReplicas ? { minInsyncReplicas: flags.minInsyncReplicas } : {}),
});
topicSpecOptions(
  topics
    .command('ensure <topic>')
    .alias('create')
    .description('create the topic compacted if missing; refuse an existing unsafe one'),
).action(async (topic: string, flags: TopicFlags, command: Command) => {
  const configs = Object.fromEntries(
    flags.config.map((entry) => {
      const at = entry.indexOf('=');
      if (at < 1) throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', `--config ${entry}: expected name=value`);
      return [entry.slice(0, at), entry.slice(at + 1)];
    }),
  );
  await withTransport(connection(command).kafka, (transport) =>
    ensureDatasetTopic(transport, { ...specOf(topic, flags), configs }),
  );
  out(`topic ${topic} is a compacted dataset topic`);
});
topicSpecOptions(
  topics
    .command('verify <topic>')
    .description(
      'check an existing topic; exit 3 naming every unsafe setting (and, with --principal, every ACL beyond or missing for --role)',
    ),
)
  .option(
    '--principal <User:name>',
    'also check the ACLs this principal has on the topic (needs the right to describe ACLs)',
  )
  .addOption(
    new Option('--role <role>', 'what the principal does with the topic').choices(['producer', 'view']).default('view'),
  )
  .action(async (topic: string, flags: TopicFlags & { principal?: string; role: TopicRole }, command: Command) => {
    const { principal } = flags;
    const [description, acls] = await withTransport(
      connection(command).kafka,
      async (transport) =>
        [
          await describeTopic(transport, topic),
          principal === undefined ? [] : await aclProblems(transport, topic, principal, flags.role),
        ] as const,
    );
    assertSafeTopic(topic, description, specOf(topic, flags));
    if (acls.length > 0)
      throw new HotstateError(
        'HOTSTATE_ERR_TOPIC_SETTINGS',
        `ACLs of ${principal ?? ''} on ${topic} are not least privilege for a ${flags.role}:\n  - ${acls.join('\n  - ')}`,
      );
    out(`topic ${topic}: ok${principal === undefined ? '' : `; ${principal} has exactly what a ${flags.role} needs`}`);
  });

program
  .command('history')
  .description("a key's versions still in the log, oldest first, as NDJSON (exit 6 when none)")
  .requiredOption('-t, --topic <topic>', 'dataset topic')
  .argument('<key>')
  .option(
    '--all-partitions',
    "search every partition, not only the key's own (for topics written with another partitioner)",
    false,
  )
  .action(async (key: string, flags: { topic: string; allPartitions: boolean }, command: Command) => {
    const { kafka, registryUrl } = connection(command);
    const versions = await withTransport(kafka, (transport) =>
      keyHistory(
        transport,
        new WriterSchemas(registrySchemaSource(registryUrl), valueSubject(flags.topic)),
        flags.topic,
        key,
        { allPartitions: flags.allPartitions },
      ),
    );
    for (const version of versions) out(stringifyJson(version));
    if (versions.length === 0) {
      err(`no version of ${JSON.stringify(key)} in ${flags.topic} (never written, or compacted away)`);
      process.exitCode = exitCodes.notFound;
    }
  });

program
  .command('diff')
  .description(
    'keys added, changed and removed between two versions, as NDJSON, with a summary on stderr (exit 7 when a side is beyond the rollback window)',
  )
  .requiredOption('-t, --topic <topic>', 'dataset topic')
  .requiredOption(
    '--from <token|snapshot-file>',
    'the older side: a version token (every partition named) or a snapshot file',
  )
  .option('--to <token|snapshot-file|now>', 'the newer side', 'now')
  .action(async (flags: { topic: string; from: string; to: string }, command: Command) => {
    const { kafka, registryUrl } = connection(command);
    process.exitCode = await withTransport(kafka, (transport) =>
      diffCommand(
        transport,
        registrySchemaSource(registryUrl),
        flags.topic,
        parseVersionRef(flags.from),
        parseVersionRef(flags.to),
        out,
        err,
      ),
    );
  });

program
  .command('rollback')
  .description(
    'write compensating records that bring a dataset back to an earlier version (a plan first; --yes writes)',
  )
  .requiredOption('-t, --topic <topic>', 'dataset topic')
  .requiredOption(
    '--to <token|snapshot-file>',
    'the version to go back to: a version token within the rollback window, or a snapshot file',
  )
  .option('--dry-run', 'print the plan, write nothing', false)
  .option('--yes', 'write the plan (without it: the plan is printed, nothing written, exit 5)', false)
  .option(
    '--max-delete-share <0..1>',
    'hold back a rollback deleting more than this share of the keys (exit 5)',
    share,
    0.5,
  )
  .option('--allow-mass-delete', 'write a rollback even when it deletes more than --max-delete-share', false)
  .option('--json', 'print the outcome as one JSON object', false)
  .action(
    async (
      flags: {
        topic: string;
        to: string;
        dryRun: boolean;
        yes: boolean;
        maxDeleteShare: number;
        allowMassDelete: boolean;
        json: boolean;
      },
      command: Command,
    ) => {
      const { kafka, registryUrl } = connection(command);
      const producer = await producerFor(command, {
        topic: flags.topic,
        registerSchema: false,
        maxValueBytes: 1_000_000,
      });
      try {
        process.exitCode = await withTransport(kafka, (transport) =>
          rollbackCommand(
            { producer, transport, schemaSource: registrySchemaSource(registryUrl) },
            parseVersionRef(flags.to),
            {
              dryRun: flags.dryRun,
              confirm: flags.yes,
              maxDeleteShare: flags.maxDeleteShare,
              allowMassDelete: flags.allowMassDelete,
              json: flags.json,
            },
            out,
            err,
          ),
        );
      } finally {
        await producer.close();
      }
    },
  );

const snapshot = program
  .command('snapshot')
  .description('snapshot files: start views from them instead of a full replay');
snapshot
  .command('save')
  .description('replay a dataset and write a snapshot file of its current version')
  .requiredOption('-t, --topic <topic>', 'dataset topic')
  .requiredOption(
    '-o, --output <folder|file>',
    'where to write (atomically): a folder (named <topic>.<created ms>.snapshot in it) or a file of that name, the names a restore reads',
  )
  .option('--no-progress', 'no replay progress bar')
  .action(async (flags: { topic: string; output: string; progress: boolean }, command: Command) => {
    snapshotTarget(resolve(flags.output), flags.topic, Date.now()); // a name a restore would skip: refused before the replay
    await withView(command, flags.topic, flags.progress, (view) => saveSnapshot(view, resolve(flags.output), out));
  });
snapshot
  .command('inspect <file>')
  .description('verify a snapshot file, print its header, and say whether a view would use it now (exit 1 when not)')
  .action(async (file: string, _flags: unknown, command: Command) => {
    const topicNow = (topic: string) =>
      withTransport(connection(command).kafka, async (transport) => {
        const layout = await transport.layout(topic);
        if (!layout)
          throw new HotstateError('HOTSTATE_ERR_RESOURCE_NOT_FOUND', `topic ${topic} does not exist (any more)`);
        const configs = await transport.topicConfigs(topic);
        return {
          topic,
          topicId: layout.topicId,
          offsets: await transport.offsets(topic),
          deleteRetentionMs: Number(configs['delete.retention.ms'] ?? Number.POSITIVE_INFINITY),
        };
      });
    process.exitCode = await inspectSnapshot(file, topicNow, out);
  });

const schemas = program.command('schemas').description('the local schema catalog: <dir>/<topic>/v<N>.avsc');
schemas
  .command('check')
  .description(
    'check each version against the previous one and the newest against the registry (exit 3 when incompatible)',
  )
  .option('--dir <dir>', 'catalog folder', 'schemas')
  .option('--subject-prefix <prefix>', 'subjects are <prefix><topic>-value', '')
  .action(async (flags: { dir: string; subjectPrefix: string }, command: Command) => {
    const findings = await checkCatalog(loadCatalog(flags.dir), connection(command).registryUrl, flags.subjectPrefix);
    for (const f of findings) (f.ok ? out : err)(`${f.ok ? 'ok  ' : 'FAIL'} ${f.subject} ${f.file}: ${f.detail}`);
    if (findings.some((f) => !f.ok)) process.exitCode = exitCodes.invalid;
  });
schemas
  .command('register')
  .alias('push')
  .description('register every version in order (no-op for registered ones)')
  .option('--dir <dir>', 'catalog folder', 'schemas')
  .option('--subject-prefix <prefix>', 'subjects are <prefix><topic>-value', '')
  .action(async (flags: { dir: string; subjectPrefix: string }, command: Command) => {
    for (const r of await registerCatalog(loadCatalog(flags.dir), connection(command).registryUrl, flags.subjectPrefix))
      out(`registered ${r.subject} ${r.file} -> id ${String(r.id)}`);
  });

const cdc = program
  .command('cdc')
  .description('change data capture: PostgreSQL tables through Debezium on Kafka Connect');
const connectOption = (): Option => new Option('--connect <url>', 'Kafka Connect REST URL').env('KAFKA_CONNECT_URL');
const databaseOption = (): Option =>
  new Option('--database-url <url>', 'postgres://user[:password]@host:port/database').env('POSTGRES_URL');
function connectOf(command: Command): ConnectClient {
  const { connect } = command.opts<{ connect?: string }>();
  if (!connect)
    throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', 'no Kafka Connect: pass --connect or set KAFKA_CONNECT_URL');
  return new ConnectClient(connect);
}
cdc
  .command('add <name>')
  .description("create the tables' topics and register a Debezium connector for them; waits until it runs")
  .requiredOption('--tables <schema.table,...>', 'tables to capture', (v: string) =>
    v
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  )
  .addOption(databaseOption().makeOptionMandatory())
  .addOption(connectOption())
  .option('--partitions <n>', 'partitions of each table topic', positiveInt, 1)
  .option('--replication-factor <n>', 'replication factor of the topics', positiveInt)
  .addOption(
    new Option('--converter-registry-user <name>', "the converter's registry user (basic auth)").env(
      'CDC_REGISTRY_USERNAME',
    ),
  )
  .addOption(
    new Option(
      '--converter-registry-password-file <path>',
      "its password file, as the Connect worker reads it (through the worker's `dir` config provider)",
    ).env('CDC_REGISTRY_PASSWORD_FILE'),
  )
  .addOption(
    new Option(
      '--converter-registry-ca-file <path>',
      "PEM CA of the registry's certificate, as the worker reads it",
    ).env('CDC_REGISTRY_CA_FILE'),
  )
  .action(
    async (
      name: string,
      flags: {
        tables: string[];
        databaseUrl: string;
        partitions: number;
        replicationFactor?: number;
        converterRegistryUser?: string;
        converterRegistryPasswordFile?: string;
        converterRegistryCaFile?: string;
      },
      command: Command,
    ) => {
      const { kafka, registryUrl } = connection(command);
      const registry = typeof registryUrl === 'string' ? registryUrl : registryUrl.url;
      await cdcAdd(
        connectOf(command),
        kafka,
        {
          name,
          databaseUrl: flags.databaseUrl,
          tables: flags.tables,
          registryUrl: registry,
          partitions: flags.partitions,
          ...(flags.replicationFactor === undefined ? {} : { replicationFactor: flags.replicationFactor }),
          converterRegistry: {
            ...(flags.converterRegistryUser === undefined ? {} : { username: flags.converterRegistryUser }),
            ...(flags.converterRegistryPasswordFile === undefined
              ? {}
              : { passwordFile: flags.converterRegistryPasswordFile }),
            ...(flags.converterRegistryCaFile === undefined ? {} : { caFile: flags.converterRegistryCaFile }),
          },
        },
        out,
      );
    },
  );
cdc
  .command('list')
  .description('connectors on the Connect cluster, their state and tables')
  .addOption(connectOption())
  .action(async (_flags: unknown, command: Command) => {
    await cdcList(connectOf(command), out);
  });
cdc
  .command('status <name>')
  .description(
    'connector and task state, committed source offset, replication slot lag and retained WAL (exit 1 unless all run)',
  )
  .addOption(connectOption())
  .addOption(databaseOption())
  .action(async (name: string, flags: { databaseUrl?: string }, command: Command) => {
    if (!(await cdcStatus(connectOf(command), name, flags.databaseUrl, out))) process.exitCode = exitCodes.failed;
  });
cdc
  .command('remove <name>')
  .description('remove the connector (its topics stay); --drop-slot also drops its replication slot and publication')
  .addOption(connectOption())
  .addOption(databaseOption())
  .option('--drop-slot', 'drop the replication slot and publication too', false)
  .action(async (name: string, flags: { dropSlot: boolean; databaseUrl?: string }, command: Command) => {
    await cdcRemove(connectOf(command), name, flags.dropSlot, flags.databaseUrl, out);
  });

/** A file named on the command line that cannot be read: a usage error naming it, not a raw ENOENT. */
function unreadableFile(error: unknown): HotstateError | undefined {
  const { code, path } = error as NodeJS.ErrnoException;
  if (typeof path !== 'string' || !['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR', 'EPERM'].includes(code ?? ''))
    return undefined;
  return new HotstateError(
    'HOTSTATE_ERR_CONFIG_INVALID',
    `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : `not readable (${code ?? ''})`}`,
    { cause: error },
  );
}

try {
  await program.parseAsync();
} catch (error) {
  const code = (error as { code?: string }).code;
  if (typeof code === 'string' && code.startsWith('commander.')) {
    process.exitCode =
      code === 'commander.helpDisplayed' || code === 'commander.version' ? exitCodes.ok : exitCodes.usage;
  } else {
    const refusal = unreadableFile(error) ?? error;
    err(`hotstate: ${refusal instanceof HotstateError ? `${refusal.code}: ` : ''}${(refusal as Error).message}`);
    process.exitCode = exitCodeFor(refusal);
  }
}
