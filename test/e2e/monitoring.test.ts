// The shipped dashboard and alert rules against a real Prometheus scraping the real services while traffic runs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import pg from 'pg';
import { parse } from 'yaml';
import { buildDashboard, panels } from '../../infra/grafana/dashboard.ts';
import { projectRoot } from '../../infra/settings.ts';
import { ensureDatasetTopic } from '../../services/lib/kafka/topics.ts';
import { registerValueSchema } from '../../services/lib/registry.ts';
import { price, schemaText } from '../helpers/datasets.ts';
import { createTestTopic, testKafka, testRegistry, testTransport } from '../helpers/infra.ts';
import { startPrometheus } from '../helpers/prometheus.ts';
import { startPrivateRegistry } from '../helpers/private-infra.ts';
import { tcpProxy } from '../helpers/tcp-proxy.ts';
import { encodeFramed, parseAvroSchema } from '../../services/lib/codec/confluent-avro.ts';
import { rawSend } from '../helpers/raw.ts';
import { serviceEnv, startService, waitReady } from '../helpers/services.ts';
import { withAdmin } from '../helpers/kafkajs-client.ts';
import { freePortBlock } from '../helpers/ports.ts';
import { skipWithout } from '../helpers/tools.ts';
import { cdcInfra } from '../helpers/cdc.ts';

const token = 'monitoring-token-0123456789';

test('the provisioned dashboard JSON is the one the code builds', () => {
  const committed = JSON.parse(
    readFileSync(join(projectRoot, 'infra', 'grafana', 'dashboards', 'hotstate.json'), 'utf8'),
  ) as unknown;
  assert.deepEqual(
    committed,
    JSON.parse(JSON.stringify(buildDashboard())),
    'run `npm run dashboard` and commit the result',
  );
});

test(
  'every dashboard query and every alert rule works against real metrics while traffic runs',
  { skip: skipWithout('prometheus') },
  async (t) => {
    const kafka = testKafka(t);
    const topic = await createTestTopic(t, kafka, { partitions: 3 });
    const dlq = `${topic}.hotstate-dlq`;
    await ensureDatasetTopic(testTransport(t), { topic: dlq });
    t.after(() => withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [dlq] })));
    await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 2));
    // A CDC dataset whose replication slot the state service watches (the slot alerts' metrics), when CDC runs.
    const cdc = await slotDataset(t);
    const [ingest, state] = await Promise.all([
      startService(t, 'ingest', serviceEnv([topic], { HOTSTATE_INGEST_TOKEN: token })),
      startService(
        t,
        'state',
        serviceEnv([topic, ...(cdc ? [cdc.topic] : [])], {
          HOTSTATE_POISON_POLICY: 'dead-letter',
          HOTSTATE_SNAPSHOT_DIR: mkdtempSync(join(tmpdir(), 'monitoring-snapshots-')),
          HOTSTATE_SNAPSHOT_INTERVAL_MS: '2000',
          ...(cdc ? { HOTSTATE_CDC_DATABASE_URL: cdc.databaseUrl, HOTSTATE_CDC_SLOT_INTERVAL_MS: '500' } : {}),
        }),
      ),
    ]);
    await waitReady(state);
    const prometheus = await startPrometheus(
      t,
      await freePortBlock(1),
      [ingest.url, state.url].map((u) => u.replace('http://', '')),
    );

    // Traffic: writes through ingest, reads through the state service, and one poison record (decode error + dead letter).
    await rawSend(t, topic, [{ key: 'poison', value: Buffer.from([9, 9, 9, 9, 9, 9]) }]);
    const deadline = Date.now() + 12_000;
    let i = 0;
    while (Date.now() < deadline) {
      const key = `K${String(i++ % 20)}`;
      const put = await fetch(`${ingest.url}/v1/datasets/${topic}/records/${key}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(price(key, i)),
      });
      const written = (await put.json()) as { token: string };
      await fetch(`${state.url}/v1/datasets/${topic}/keys/${key}?minVersion=${written.token}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    const substitute = (expr: string): string =>
      expr.replaceAll('$__rate_interval', '30s').replaceAll('$instance', '.*').replaceAll('$dataset', '.*');
    // Without PostgreSQL (HOTSTATE_TEST_CDC=0; CI always has it) there is no slot to watch.
    const measured = (expr: string): boolean => cdc !== undefined || !expr.includes('hotstate_cdc_');
    for (const panel of panels) {
      for (const query of panel.queries.filter((q) => measured(q.expr))) {
        const result = await prometheus.query(substitute(query.expr));
        assert.ok(result.length > 0, `${panel.title}: no series for ${query.expr}`);
      }
    }
    const ready = await prometheus.query(`hotstate_view_ready{topic="${topic}"}`);
    assert.equal(ready[0]?.value[1], '1');
    const deadLetters = await prometheus.query(`hotstate_view_dead_letters_total{topic="${topic}"}`);
    assert.equal(deadLetters[0]?.value[1], '1');

    // The alert rules: loaded, evaluated without error against these series, and every metric they name exists.
    const rules = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
    };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    const shipped = (
      parse(readFileSync(join(projectRoot, 'infra', 'prometheus', 'alerts.yml'), 'utf8')) as {
        groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
      }
    ).groups.flatMap((g) => g.rules);
    assert.deepEqual(loaded.map((r) => r.name).sort(), shipped.map((r) => r.alert).sort());
    for (const rule of loaded) assert.equal(rule.health, 'ok', `${rule.name}: ${rule.lastError ?? ''}`);
    for (const rule of shipped.filter((r) => measured(r.expr))) {
      for (const metric of new Set(rule.expr.match(/\b(hotstate_[a-z_]+|up)\b/g) ?? [])) {
        assert.ok((await prometheus.query(`count(${metric})`)).length > 0, `${rule.alert}: ${metric} has no series`);
      }
    }
  },
);

test(
  'lag is true in Prometheus: a view that cannot apply shows exactly the records waiting, then 0 after catching up',
  { skip: skipWithout('prometheus') },
  async (t) => {
    // The view cannot apply while the registry is unreachable for a schema id it has not seen yet (a real outage,
    // through a proxy that is cut); its health check keeps reporting lag from the end offsets meanwhile.
    const registryPort = await freePortBlock(2);
    const proxyPort = await freePortBlock(1);
    const registry = await startPrivateRegistry(t, registryPort);
    const proxy = await tcpProxy(t, proxyPort, registryPort);
    const kafka = testKafka(t);
    const topic = await createTestTopic(t, kafka, { partitions: 3 });
    const v1 = await registerValueSchema(registry.address, topic, schemaText('instrument-prices', 1));
    const v2 = await registerValueSchema(registry.address, topic, schemaText('instrument-prices', 2));
    const typeV1 = parseAvroSchema(schemaText('instrument-prices', 1));
    const typeV2 = parseAvroSchema(schemaText('instrument-prices', 2));
    await rawSend(t, topic, [
      { key: 'seed', value: encodeFramed(typeV1, v1, { instrument: 'seed', price: 1, currency: 'EUR', updatedAt: 1 }) },
    ]);
    const state = await startService(
      t,
      'state',
      serviceEnv([topic], {
        SCHEMA_REGISTRY_URL: registry.address.replace(`:${String(registryPort)}`, `:${String(proxyPort)}`),
        HOTSTATE_HEALTH_CHECK_INTERVAL_MS: '300',
      }),
    );
    await waitReady(state);
    const prometheus = await startPrometheus(t, await freePortBlock(1), [state.url.replace('http://', '')]);
    const lag = async (): Promise<number> =>
      Number((await prometheus.query(`sum(hotstate_view_lag_records{topic="${topic}"})`))[0]?.value[1] ?? Number.NaN);
    const lagSeconds = async (): Promise<number> =>
      Number((await prometheus.query(`max(hotstate_view_lag_seconds{topic="${topic}"})`))[0]?.value[1] ?? Number.NaN);
    const eventually = async (what: string, check: () => Promise<boolean>): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (!(await check())) {
        if (Date.now() > deadline)
          throw new Error(
            `timed out waiting for ${what} (lag ${String(await lag())}, lag seconds ${String(await lagSeconds())})`,
          );
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };
    await eventually('lag 0 at start', async () => (await lag()) === 0);

    proxy.down();
    const n = 60;
    await rawSend(
      t,
      topic,
      Array.from({ length: n }, (_, i) => ({
        key: `K${String(i)}`,
        value: encodeFramed(typeV2, v2, price(`K${String(i)}`, i)),
      })),
    );
    await eventually(`lag ${String(n)}`, async () => (await lag()) === n);
    await eventually('lag in seconds growing', async () => (await lagSeconds()) >= 1);

    proxy.up();
    await eventually('lag back to 0', async () => (await lag()) === 0);
    await eventually('lag in seconds back to 0', async () => (await lagSeconds()) === 0);
  },
);

/** A dataset named like a CDC topic (`<slot>.public.t`) and an inactive logical replication slot of that name. */
async function slotDataset(t: TestContext): Promise<{ topic: string; databaseUrl: string } | undefined> {
  const infra = cdcInfra();
  if (typeof infra === 'string') return undefined;
  const slot = `mon_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const sql = new pg.Client({ connectionString: infra.databaseUrl });
  await sql.connect();
  await sql.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
  await sql.end();
  t.after(async () => {
    const cleanup = new pg.Client({ connectionString: infra.databaseUrl });
    await cleanup.connect();
    await cleanup.query('SELECT pg_drop_replication_slot($1)', [slot]).catch(() => undefined);
    await cleanup.end();
  });
  const topic = `${slot}.public.t`;
  const dlq = `${topic}.hotstate-dlq`; // the state service runs with the dead-letter policy
  for (const name of [topic, dlq]) await ensureDatasetTopic(testTransport(t), { topic: name });
  t.after(() => withAdmin(testKafka(t), (admin) => admin.deleteTopics({ topics: [topic, dlq] })));
  return { topic, databaseUrl: infra.databaseUrl };
}
