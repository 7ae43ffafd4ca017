// The demo (`npm run demo`): starts the local Kafka + registry (unless already running), creates the sample
// datasets, starts the state and ingest services, and runs an upstream emitter that keeps sending price ticks
// through the ingest service. Ctrl-C (or --seconds N) stops everything it started. With --cdc, the same for a
// PostgreSQL table through Debezium instead (cdc-demo.ts).
import { withTransport } from '../lib/transport/platformatic/platformatic-transport.ts';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { down, up } from '../../infra/launcher.ts';
import { loadInfraSettings, projectRoot } from '../../infra/settings.ts';
import { ensureDatasetTopic } from '../lib/kafka/topics.ts';
import { spawnService, whenReady } from './service-process.ts';
import { loadCatalog, registerCatalog } from '../lib/schemas/catalog.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string' }, cdc: { type: 'boolean', default: false } } });
const runFor = values.seconds === undefined ? undefined : Number(values.seconds);
const statePort = Number(process.env.HOTSTATE_DEMO_STATE_PORT ?? 8080);
if (values.cdc) {
  const { runCdcDemo } = await import('./cdc-demo.ts');
  await runCdcDemo(runFor, statePort);
}
const ingestPort = Number(process.env.HOTSTATE_DEMO_INGEST_PORT ?? 8090);
const token = 'demo-ingest-token-change-me';
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const settings = loadInfraSettings();
const infra = await up(settings, (line) => {
  say(`infra: ${line}`);
});
const brokers = infra.endpoints.kafkaBrokers;
const registryUrl = infra.endpoints.schemaRegistryUrl;

await withTransport({ brokers, clientId: 'hotstate-demo' }, async (transport) => {
  for (const topic of ['instrument-prices', 'feature-flags'])
    await ensureDatasetTopic(transport, { topic, partitions: 3 });
});
await registerCatalog(loadCatalog(join(projectRoot, 'schemas')), registryUrl);

const env = {
  KAFKA_BROKERS: brokers.join(','),
  SCHEMA_REGISTRY_URL: registryUrl,
  HOTSTATE_DATASETS: 'instrument-prices,feature-flags',
};
const services = [
  spawnService('state', statePort, env),
  spawnService('ingest', ingestPort, { ...env, HOTSTATE_INGEST_TOKEN: token }),
];
const children = services.map((service) => service.child);
const [stateUrl, ingestUrl] = services.map((service) => service.url) as [string, string];
await whenReady(services);

async function stopAll(code: number): Promise<never> {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode === null) child.once('exit', resolve);
          else resolve(undefined);
        }),
    ),
  );
  if (infra.started.length > 0) {
    say('stopping the local infrastructure this demo started');
    await down(settings);
  }
  say('demo stopped');
  process.exit(code);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    void stopAll(0);
  });

say(`
hotstate demo is running — Ctrl-C stops everything it started.
  state service   ${stateUrl}/v1/datasets
                  ${stateUrl}/v1/datasets/instrument-prices/keys/ACME
                  ${stateUrl}/v1/datasets/instrument-prices/items?limit=5
                  curl -N ${stateUrl}/v1/datasets/instrument-prices/changes   (live change feed)
  ingest service  curl -X PUT -H 'authorization: Bearer ${token}' -H 'content-type: application/json' \\
                    -d '{"instrument":"ACME","price":1,"currency":"EUR","updatedAt":0,"venue":null}' ${ingestUrl}/v1/datasets/instrument-prices/records/ACME
  metrics         ${stateUrl}/metrics   ${ingestUrl}/metrics
  CLI             KAFKA_BROKERS=${brokers.join(',')} SCHEMA_REGISTRY_URL=${registryUrl} npm run hotstate -- tail -t instrument-prices
`);

// The upstream emitter: random-walk price ticks for 20 instruments, 10 per second, through the ingest service.
const instruments = [
  'ACME',
  'GLOBEX',
  'INITECH',
  'UMBRELLA',
  'HOOLI',
  'STARK',
  'WAYNE',
  'WONKA',
  'TYRELL',
  'CYBERDYNE',
  'SOYLENT',
  'MASSIVE',
  'VANDELAY',
  'PIEDPIPER',
  'AVIATO',
  'BLUTH',
  'DUNDER',
  'GRINGOTTS',
  'OSCORP',
  'APERTURE',
];
const prices = new Map(instruments.map((name, i) => [name, 50 + i * 7]));
const began = Date.now();
let ticks = 0;
let lastToken = '';
for (;;) {
  const name = instruments[Math.floor(Math.random() * instruments.length)] ?? 'ACME';
  const price = Math.max(1, (prices.get(name) ?? 100) * (1 + (Math.random() - 0.5) / 50));
  prices.set(name, price);
  const response = await fetch(`${ingestUrl}/v1/datasets/instrument-prices/records/${name}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      instrument: name,
      price: Math.round(price * 100) / 100,
      currency: 'EUR',
      updatedAt: Date.now(),
      venue: 'XPAR',
    }),
  }).catch(() => undefined);
  if (response?.ok) {
    ticks++;
    lastToken = ((await response.json()) as { token: string }).token;
  }
  if (response?.ok && ticks % 50 === 0) {
    // Read the tick just sent back through the state service (minVersion: read-your-write across services).
    const read = (await fetch(`${stateUrl}/v1/datasets/instrument-prices/keys/${name}?minVersion=${lastToken}`).then(
      (r) => r.json(),
      () => undefined,
    )) as { value?: { price: number } } | undefined;
    say(`emitted ${String(ticks)} ticks; state service ${name} = ${String(read?.value?.price ?? '(unavailable)')}`);
  }
  if (runFor !== undefined && Date.now() - began > runFor * 1000) await stopAll(0);
  await sleep(100);
}
