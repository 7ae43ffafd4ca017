// hotstate cdc add | list | status | remove: tables captured by a Debezium PostgreSQL connector with the settings a
// view needs (services/lib/cdc/capture.ts), and its health: connector and task state, the replication slot's lag and
// retained WAL.
import { captureTables, rootCause, running } from '../lib/cdc/capture.ts';
import type { ConnectClient } from '../lib/cdc/connect-client.ts';
import { topicOf, transactionTopicOf, type CdcSource } from '../lib/cdc/connector-config.ts';
import { dropSlotAndPublication, redacted, replicationSlot } from '../lib/cdc/replication-slot.ts';
import { HotstateError } from '../lib/errors.ts';
import type { KafkaConnection } from '../lib/transport/transport.ts';
import { waitingOn } from './waiting.ts';

type Out = (line: string) => void;

/** Captures the tables (services/lib/cdc/capture.ts), naming each wait, then says where their changes go. */
export async function cdcAdd(
  connect: ConnectClient,
  kafka: KafkaConnection,
  source: CdcSource,
  out: Out,
): Promise<void> {
  await captureTables(connect, kafka, source, waitingOn);
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
