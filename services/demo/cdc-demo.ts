// `npm run demo -- --cdc`: a table in PostgreSQL kept hot in memory through Debezium. Starts the local Kafka,
// registry, PostgreSQL and Kafka Connect (unless running), creates an `instruments` table, registers the connector
// (as `hotstate cdc add` does), starts the state service on its topic, and runs a SQL loop that updates prices.
// The printed lines show how to UPDATE a row with psql and watch it change. Ctrl-C (or --seconds N) stops it.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { down, up } from '../../infra/launcher.ts';
import { loadInfraSettings } from '../../infra/settings.ts';
import { ConnectClient } from '../lib/cdc/connect-client.ts';
import { topicOf } from '../lib/cdc/connector-config.ts';
import { captureTables } from '../lib/cdc/capture.ts';
import { spawnService, whenReady } from './service-process.ts';

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

export async function runCdcDemo(runFor: number | undefined, statePort: number): Promise<void> {
  const settings = loadInfraSettings({ ...process.env, HOTSTATE_INFRA_CDC: '1' });
  const infra = await up(settings, (line) => {
    say(`infra: ${line}`);
  });
  const { kafkaBrokers: brokers, schemaRegistryUrl: registryUrl, postgresUrl, connectUrl } = infra.endpoints;
  if (!postgresUrl || !connectUrl) throw new Error('the CDC infrastructure did not start');
  const sql = new pg.Client({ connectionString: postgresUrl });
  await sql.connect();
  await sql.query(`
    CREATE TABLE IF NOT EXISTS instruments (
      symbol text PRIMARY KEY, price numeric(12, 2) NOT NULL, currency text NOT NULL, updated_at timestamptz NOT NULL);
    INSERT INTO instruments
      SELECT s, 50 + 7 * i, 'EUR', now() FROM unnest(ARRAY['ACME', 'GLOBEX', 'INITECH', 'UMBRELLA', 'HOOLI',
        'STARK', 'WAYNE', 'WONKA', 'TYRELL', 'CYBERDYNE']) WITH ORDINALITY AS t(s, i)
      ON CONFLICT (symbol) DO NOTHING`);
  const connector = 'demo';
  const connect = new ConnectClient(connectUrl);
  await captureTables(
    connect,
    { brokers, clientId: 'hotstate-demo' },
    { name: connector, databaseUrl: postgresUrl, tables: ['public.instruments'], registryUrl },
  );
  const topic = topicOf({ name: connector }, 'public.instruments');
  say(`connector ${connector} runs: public.instruments -> topic ${topic}`);
  const service = spawnService('state', statePort, {
    KAFKA_BROKERS: brokers.join(','),
    SCHEMA_REGISTRY_URL: registryUrl,
    KAFKA_CONNECT_URL: connectUrl,
    HOTSTATE_DATASETS: topic,
  });
  const { child: state, url: stateUrl } = service;
  await whenReady([service]);

  const stopAll = async (code: number): Promise<never> => {
    state.kill('SIGTERM');
    if (state.exitCode === null) await new Promise((resolve) => state.once('exit', resolve));
    await sql.end().catch(() => undefined);
    if (infra.started.length > 0) {
      say('stopping the local infrastructure this demo started');
      await down(settings);
    } else {
      await connect.remove(connector).catch(() => undefined); // the slot stays for the next run
    }
    say('demo stopped');
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      void stopAll(0);
    });

  say(`
hotstate CDC demo is running — Ctrl-C stops everything it started.
  the table       instruments in ${postgresUrl}, updated by a SQL loop (5 rows a second)
  the view        ${stateUrl}/v1/datasets/${topic}/keys/ACME
                  ${stateUrl}/v1/datasets/${topic}/items
                  curl -N ${stateUrl}/v1/datasets/${topic}/changes   (live change feed)
  change a row    psql ${postgresUrl} -c "UPDATE instruments SET price = 1234.56 WHERE symbol = 'ACME'"
  then read it    curl ${stateUrl}/v1/datasets/${topic}/keys/ACME   (value.price is "1234.56"; source shows lsn and txId)
  read your write psql … -c "SELECT pg_logical_emit_message(false, 'hotstate', '')::text"  gives an LSN after your commit;
                  curl "${stateUrl}/v1/datasets/${topic}/keys/ACME?minSourceLsn=<that LSN>" answers once it is applied
  connector       KAFKA_CONNECT_URL=${connectUrl} POSTGRES_URL=${postgresUrl} npm run hotstate -- cdc status ${connector}
`);

  const symbols = ['GLOBEX', 'INITECH', 'UMBRELLA', 'HOOLI', 'STARK', 'WAYNE', 'WONKA', 'TYRELL', 'CYBERDYNE'];
  const began = Date.now();
  process.once('uncaughtException', (error) => {
    say(`demo failed: ${error.message}`);
    void stopAll(1);
  });
  for (let updates = 1; ; updates++) {
    const symbol = symbols[updates % symbols.length] ?? 'GLOBEX';
    await sql.query(
      'UPDATE instruments SET price = round((price * (1 + (random() - 0.5) / 50))::numeric, 2), updated_at = now() WHERE symbol = $1',
      [symbol],
    );
    if (updates % 25 === 0) {
      const { rows } = await sql.query<{ lsn: string; price: string }>(
        `SELECT pg_logical_emit_message(false, 'hotstate', '')::text AS lsn, price::text FROM instruments WHERE symbol = $1`,
        [symbol],
      );
      const read = (await fetch(
        `${stateUrl}/v1/datasets/${topic}/keys/${symbol}?minSourceLsn=${encodeURIComponent(rows[0]?.lsn ?? '')}`,
      ).then(
        (r) => r.json(),
        () => undefined,
      )) as { value?: { price: string } } | undefined;
      say(
        `${String(updates)} updates; ${symbol}: database ${rows[0]?.price ?? '?'}, state service ${read?.value?.price ?? '(unavailable)'}`,
      );
    }
    if (runFor !== undefined && Date.now() - began > runFor * 1000) await stopAll(0);
    await sleep(200);
  }
}
