// Capturing tables: the Debezium connector registered for them with the settings a view needs (connector-config.ts),
// their topics created first as compacted dataset topics (so a view of a table that has no row yet finds its topic),
// and the wait until the connector runs and its snapshot of existing rows is in Kafka (so a view made right after is
// not ready and empty). Used by `hotstate cdc add`, the CDC demo, benchmark and tests.
import { setTimeout as sleep } from 'node:timers/promises';
import { HotstateError } from '../errors.ts';
import { ensureDatasetTopic } from '../kafka/topics.ts';
import { withTransport } from '../transport/platformatic/platformatic-transport.ts';
import type { KafkaConnection } from '../transport/transport.ts';
import type { ConnectClient, ConnectorStatus } from './connect-client.ts';
import { debeziumConnectorConfig, topicOf, type CdcSource } from './connector-config.ts';
import { databaseProblems } from './database-checks.ts';
import { redacted } from './replication-slot.ts';

/** What a Java trace says went wrong at the bottom (e.g. the registry's rule violation naming the subject). */
export const rootCause = (trace: string): string =>
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

export const running = (status: ConnectorStatus | undefined): boolean =>
  status?.connector.state === 'RUNNING' && status.tasks.length > 0 && status.tasks.every((t) => t.state === 'RUNNING');

/**
 * Creates the table topics, registers (or updates) the connector and waits until it and its task run and the snapshot
 * of existing rows is in Kafka. `waitingOn` hears what it waits for at each step (a CLI names it on timeout).
 */
export async function captureTables(
  connect: ConnectClient,
  kafka: KafkaConnection,
  source: CdcSource,
  waitingOn: (what: string) => void = () => undefined,
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
}
