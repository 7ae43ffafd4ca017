// State service key reads over HTTP (autocannon on loopback, random keys) against the same reads served straight
// from the view library in one process.
//   npm run infra -- up && npm run bench:reads -- [keys=100000] [seconds=10] [connections=50]
import { withTransport } from '../../services/lib/transport/platformatic/platformatic-transport.ts';
import autocannon from 'autocannon';
import { connectionFromEnv } from '../../infra/settings.ts';
import { createKafka, withAdmin } from '../helpers/kafkajs-client.ts';
import { ensureDatasetTopic } from '../../services/lib/kafka/topics.ts';
import { createProducer } from '../../services/lib/producer/producer.ts';
import { createView } from '../../services/lib/view/view.ts';
import { schemaText } from '../helpers/datasets.ts';
import { spawnService, whenReady } from '../../services/demo/service-process.ts';

const keys = Number(process.argv[2] ?? 100_000);
const seconds = Number(process.argv[3] ?? 10);
const connections = Number(process.argv[4] ?? 50);
const { brokers, registryUrl } = connectionFromEnv();
const topic = `bench-reads-${String(keys)}`;
const kafka = createKafka({ brokers, clientId: 'hotstate-bench' });
await withTransport({ brokers }, (transport) => ensureDatasetTopic(transport, { topic, partitions: 3 }));
const loaded = (await withAdmin(kafka, (admin) => admin.fetchTopicOffsets(topic))).reduce(
  (n, p) => n + Number(p.high),
  0,
);
if (loaded < keys) {
  const producer = await createProducer({
    kafka: { brokers },
    registryUrl,
    topic,
    schema: schemaText('instrument-prices', 2),
    registerSchema: true,
  });
  for (let i = loaded; i < keys; i += 5000) {
    await producer.send(
      Array.from({ length: Math.min(5000, keys - i) }, (_, j) => ({
        key: `K${String(i + j)}`,
        value: { instrument: `K${String(i + j)}`, price: i + j, currency: 'EUR', updatedAt: Date.now(), venue: 'XPAR' },
      })),
    );
  }
  await producer.close();
}
const randomKey = (): string => `K${String(Math.floor(Math.random() * keys))}`;

// Baseline: the library in this process.
const view = await createView({ kafka: { brokers }, registryUrl, topic });
await view.ready;
let reads = 0;
const libraryBegan = performance.now();
while (performance.now() - libraryBegan < 2000) {
  for (let i = 0; i < 1000; i++) if (view.get(randomKey())) reads++;
}
const libraryRate = reads / ((performance.now() - libraryBegan) / 1000);
await view.close();

const port = 28580;
const started = spawnService(
  'state',
  port,
  { KAFKA_BROKERS: brokers.join(','), SCHEMA_REGISTRY_URL: registryUrl, HOTSTATE_DATASETS: topic },
  ['ignore', 'ignore', 'inherit'],
);
const { child: service, url } = started;
await whenReady([started]);
const result = await autocannon({
  url,
  connections,
  duration: seconds,
  requests: [
    { method: 'GET', setupRequest: (request) => ({ ...request, path: `/v1/datasets/${topic}/keys/${randomKey()}` }) },
  ],
});
service.kill('SIGTERM');
await new Promise((resolve) => service.once('exit', resolve));

console.log(
  `dataset ${topic}: ${String(keys)} keys; ${String(connections)} connections for ${String(seconds)} s on loopback (2 cores shared by client and server)`,
);
console.log(
  `state service HTTP: ${result.requests.average.toFixed(0)} requests/s, latency p50 ${String(result.latency.p50)} ms, p99 ${String(result.latency.p99)} ms, max ${String(result.latency.max)} ms, non-2xx ${String(result.non2xx)}, errors ${String(result.errors)}`,
);
console.log(`library in process (view.get + decode): ${libraryRate.toFixed(0)} reads/s`);
