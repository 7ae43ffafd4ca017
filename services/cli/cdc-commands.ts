// hotstate cdc add | list | status | remove: a Debezium PostgreSQL connector registered with the settings a view
// needs (services/lib/cdc/connector-config.ts), its topics created first as compacted dataset topics (so a view of
// a table that has no row yet finds its topic), and its health: connector and task state, the replication slot's
// lag and retained WAL.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectClient, ConnectorStatus } from '../lib/cdc/connect-client.ts';
import { debeziumConnectorConfig, topicOf, transactionTopicOf, type CdcSource } from '../lib/cdc/connector-config.ts';
import { dropSlotAndPublication, redacted, replicationSlot } from '../lib/cdc/replication-slot.ts';
import { databaseProblems } from '../lib/cdc/database-checks.ts';
import { HotstateError } from '../lib/errors.ts';
import { ensureDatasetTopic } from '../lib/kafka/topics.ts';
import { withTransport } from '../lib/transport/platformatic/platformatic-transport.ts';
import type { KafkaConnection } from '../lib/transport/transport.ts';
import { waitingOn } from './waiting.ts';

type Out = (line: string) => void;

/** What a Java trace says went wrong at the bottom (e.g. the registry's rule violation naming the subject). */
const rootCause = (trace: string): string =>
  (
    trace
      .split('\n')
      .filter((line) => line.startsWith('Caused by: '))
      .pop() ??
    trace.split('\n')[0] ??
    ''
  )
    .replace(/^Caused by: /, '')
    .slice(0, 600);

const failedTask = (status: ConnectorStatus): string | undefined => {
  const task = status.tasks.find((t) => t.state === 'FAILED');
  if (status.connector.state === 'FAILED') return 'the connector failed';
  return task === undefined ? undefined : `task ${String(task.id)} failed: ${rootCause(task.trace ?? '')}`;
};

const isSnapshotOffset = (offset: Record<string, unknown>): boolean =>
  offset.snapshot === true || offset.snapshot === 'true' || offset.last_snapshot_record !== undefined;

const running = (status: ConnectorStatus | undefined): boolean =>
  status?.connector.state === 'RUNNING' && status.tasks.length > 0 && status.tasks.every((t) => t.state === 'RUNNING');

/** Creates the table topics, registers (or updates) the connector and waits until it and its task run. */
export async function cdcAdd(
  connect: ConnectClient,
  kafka: KafkaConnection,
  source: CdcSource,
  out: Out,
): Promise<void> {
  const config = debeziumConnectorConfig(source);
  waitingOn(`the database at ${redacted(source.databaseUrl)} to answer`);
  const problems = await databaseProblems(source.databaseUrl, source.tables);
  if (problems.length > 0)
    throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', `cannot capture ${source.name}: ${problems.join('; ')}`);
  await withTransport(kafka, async (transport) => {
    for (const table of source.tables) {
      const topic = topicOf(source, table);
      waitingOn(`Kafka (${kafka.brokers.join(',')}) to create ${topic}`);
      await ensureDatasetTopic(transport, {
        topic,
        partitions: source.partitions ?? 1,
        ...(source.replicationFactor === undefined ? {} : { replicationFactor: source.replicationFactor }),
      });
    }
  });
  waitingOn(`Kafka Connect at ${connect.url} to accept connector ${source.name}`);
  await connect.put(source.name, config);
  waitingOn(`connector ${source.name} to run (its snapshot starts when its task runs)`);
  for (;;) {
    const status = await connect.status(source.name);
    if (status && running(status)) break;
    const failure = status && failedTask(status);
    if (failure)
      throw new HotstateError(
        'HOTSTATE_ERR_CONFIG_INVALID',
        `connector ${source.name} did not start: ${failure} (hotstate cdc status ${source.name} shows the rest)`,
      );
    await sleep(250);
  }
  // A view made now must not be ready and empty: wait until the snapshot of existing rows is in Kafka (Connect
  // commits the first offset without `snapshot` only after every snapshot record was acknowledged).
  waitingOn(`connector ${source.name} to finish the snapshot of existing rows`);
  while (!(await connect.offsets(source.name)).some((o) => o.lsn !== undefined && !isSnapshotOffset(o)))
    await sleep(200);
  out(`connector ${source.name} runs: ${source.tables.length} table(s) from ${redacted(source.databaseUrl)}`);
  for (const table of source.tables) out(`  ${table} -> topic ${topicOf(source, table)}`);
  out(`  transaction boundaries -> topic ${transactionTopicOf(source)}`);
}

export async function cdcList(connect: ConnectClient, out: Out): Promise<void> {
  const names = await connect.list();
  if (names.length === 0) out('no connectors');
  for (const name of names) {
    const [status, config] = await Promise.all([connect.status(name), connect.config(name)]);
    const tables = config?.['table.include.list'] ?? '';
    out(`${name.padEnd(24)} ${(status?.connector.state ?? 'gone').padEnd(10)} ${tables}`);
  }
}

/** Connector, tasks and slot; false when something is not running (exit 1). */
export async function cdcStatus(
  connect: ConnectClient,
  name: string,
  databaseUrl: string | undefined,
  out: Out,
): Promise<boolean> {
  const [status, config, offsets] = await Promise.all([
    connect.status(name),
    connect.config(name),
    connect.offsets(name).catch(() => []),
  ]);
  if (!status || !config)
    throw new HotstateError(
      'HOTSTATE_ERR_RESOURCE_NOT_FOUND',
      `no connector ${name} on Kafka Connect at ${connect.url}`,
    );
  out(`connector ${name}: ${status.connector.state} on ${status.connector.worker_id}`);
  for (const task of status.tasks)
    out(`  task ${String(task.id)}: ${task.state}${task.trace ? ` — ${rootCause(task.trace)}` : ''}`);
  out(`  tables: ${config['table.include.list'] ?? ''}`);
  const offset = offsets[0];
  if (offset) out(`  committed source offset: ${JSON.stringify(offset)}`);
  const url = databaseUrl ?? databaseUrlOf(config);
  const slot = await replicationSlot(url, config['slot.name'] ?? name);
  if (slot === undefined) out(`  replication slot ${config['slot.name'] ?? name}: none yet`);
  else
    out(
      `  replication slot ${slot.slot}: ${slot.active ? 'active' : 'INACTIVE (the server keeps WAL for it)'}, lag ${String(slot.lagBytes)} bytes, retaining ${String(slot.retainedBytes)} bytes of WAL`,
    );
  return running(status) && (slot?.active ?? false);
}

/** Removes the connector; with dropSlot also its replication slot and publication (else the slot keeps WAL). */
export async function cdcRemove(
  connect: ConnectClient,
  name: string,
  dropSlot: boolean,
  databaseUrl: string | undefined,
  out: Out,
): Promise<void> {
  const config = await connect.config(name);
  if (!(await connect.remove(name)))
    throw new HotstateError(
      'HOTSTATE_ERR_RESOURCE_NOT_FOUND',
      `no connector ${name} on Kafka Connect at ${connect.url}`,
    );
  out(`removed connector ${name}`);
  const slot = config?.['slot.name'] ?? name;
  if (!dropSlot) {
    out(`  its replication slot ${slot} stays and keeps WAL: drop it with --drop-slot once nothing resumes from it`);
    return;
  }
  await dropSlotAndPublication(databaseUrl ?? databaseUrlOf(config ?? {}), slot, config?.['publication.name'] ?? name);
  out(`  dropped replication slot and publication ${slot}`);
}

/** The database URL a connector was registered with (its password included, as Connect stores it). */
function databaseUrlOf(config: Record<string, string>): string {
  const url = new URL('postgres://localhost');
  url.hostname = config['database.hostname'] ?? '127.0.0.1';
  url.port = config['database.port'] ?? '5432';
  url.username = config['database.user'] ?? 'postgres';
  url.password = config['database.password'] ?? '';
  url.pathname = `/${config['database.dbname'] ?? 'postgres'}`;
  return url.toString();
}
