// CDC tests: the PostgreSQL and Kafka Connect the global setup started (POSTGRES_URL, KAFKA_CONNECT_URL), or, in the
// test/sasl-ssl/ pass, the secured cluster's (Connect as principal `connect`, its converter over HTTPS with basic
// auth). Each test gets its own database and connector; both are removed after it, slot and publication included.
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import pg from 'pg';
import type { InfraSettings } from '../../infra/settings.ts';
import { ConnectClient } from '../../services/lib/cdc/connect-client.ts';
import { topicOf, type CdcSource, type ConverterRegistryAccess } from '../../services/lib/cdc/connector-config.ts';
import { dropSlotAndPublication } from '../../services/lib/cdc/replication-slot.ts';
import { captureTables as capture } from '../../services/lib/cdc/capture.ts';
import { plainTestSettings, secureTestSettings } from '../global-setup.ts';
import { onSecuredCluster, testInfra } from './infra.ts';
import { secureInfra } from './secure-infra.ts';

export interface CdcInfra {
  readonly databaseUrl: string;
  readonly connect: ConnectClient;
  /** The launcher's settings of the cluster they belong to (fault tests stop and restart components). */
  readonly settings: InfraSettings;
  /** How the converter reaches the registry (on the secured cluster). */
  readonly converterRegistry?: ConverterRegistryAccess;
}

/** The CDC infrastructure, or the reason it is absent (the test skips; under CI=true it fails). */
export function cdcInfra(): CdcInfra | string {
  if (onSecuredCluster()) {
    const secure = secureInfra();
    if (secure.postgresUrl && secure.connectUrl)
      return {
        databaseUrl: secure.postgresUrl,
        connect: new ConnectClient(secure.connectUrl),
        settings: secureTestSettings(),
        converterRegistry: { username: 'connect', passwordFile: secure.passwordFile('connect'), caFile: secure.caFile },
      };
  } else {
    const { POSTGRES_URL: databaseUrl, KAFKA_CONNECT_URL: connectUrl } = process.env;
    if (databaseUrl && connectUrl)
      return { databaseUrl, connect: new ConnectClient(connectUrl), settings: plainTestSettings() };
  }
  const reason =
    'no PostgreSQL and Kafka Connect (POSTGRES_URL, KAFKA_CONNECT_URL; HOTSTATE_TEST_CDC=0 leaves them out)';
  if (process.env.CI === 'true') throw new Error(`CI runs the CDC tests: ${reason}`);
  return reason;
}

export interface TestDatabase {
  readonly url: string;
  /** A session opened at the start (after the database restarts, open another with connect()). */
  readonly sql: pg.Client;
  readonly name: string;
  /** A new session, closed after the test. */
  connect(): Promise<pg.Client>;
}

/** Ends a session without waiting for a server that is gone. */
const closeSession = (client: pg.Client): Promise<unknown> =>
  Promise.race([client.end().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000))]);

/** A fresh database of its own, dropped after the test. */
export async function testDatabase(t: TestContext, infra: CdcInfra): Promise<TestDatabase> {
  const name = `t_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: infra.databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(infra.databaseUrl);
  url.pathname = `/${name}`;
  const sessions: pg.Client[] = [];
  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: url.toString() });
    client.on('error', () => undefined); // a killed database: the next query fails instead
    sessions.push(client);
    await client.connect();
    return client;
  };
  const sql = await connect();
  t.after(async () => {
    await Promise.all(sessions.map(closeSession));
    const cleanup = new pg.Client({ connectionString: infra.databaseUrl });
    await cleanup.connect();
    // A slot left on the database (its connector already removed) would refuse the drop.
    await cleanup
      .query(
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active',
        [name],
      )
      .catch(() => undefined);
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await cleanup.end();
  });
  return { url: url.toString(), sql, name, connect };
}

/** Registers a connector for the tables (as `hotstate cdc add` does); removed with its slot after the test. */
export async function captureTables(
  t: TestContext,
  infra: CdcInfra,
  db: TestDatabase,
  tables: string[],
  options: Partial<CdcSource> = {},
): Promise<{ source: CdcSource; topics: Map<string, string> }> {
  const source: CdcSource = {
    name: `c${randomUUID().replaceAll('-', '').slice(0, 12)}`,
    databaseUrl: db.url,
    tables,
    registryUrl: testInfra().registryUrl,
    ...(infra.converterRegistry ? { converterRegistry: infra.converterRegistry } : {}),
    ...options,
  };
  t.after(async () => {
    await infra.connect.remove(source.name).catch(() => undefined);
    await dropSlotAndPublication(db.url, source.name, source.name).catch(() => undefined);
  });
  await capture(infra.connect, testInfra().kafka, source);
  return { source, topics: new Map(tables.map((table) => [table, topicOf(source, table)])) };
}

/** Polls `check` until it holds (a loaded 2-core machine: generous deadline, no fixed sleeps). */
export async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${String(timeoutMs)} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
