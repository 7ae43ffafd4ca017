// Change feeds under load: N Server-Sent Events clients follow a dataset while W writes of ~1 KB go through the
// ingest service; meanwhile one client reads keys from the state service. Reports the state service's resident
// memory (baseline, peak, after the clients left) and the key-read latency, against the issue's bars.
//   npm run infra -- up && npm run bench:feeds -- [clients=300] [writes=2000] [--stalled] [--burst=N]
// --stalled: the clients never read their stream (each must be cut off at its buffer limit, not buffered forever).
// --burst=N: the writes go as batches of N records (one POST each, applied together): bursts on the feed.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectionFromEnv, projectRoot } from '../../infra/settings.ts';
import { withTransport } from '../../services/lib/transport/platformatic/platformatic-transport.ts';
import { ensureDatasetTopic } from '../../services/lib/kafka/topics.ts';
import { registerValueSchema } from '../../services/lib/registry.ts';
import { schemaText } from '../helpers/datasets.ts';
import { freePortBlock } from '../helpers/ports.ts';
import { spawnService, whenReady } from '../../services/demo/service-process.ts';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const clients = Number(positional[0] ?? 300);
const writes = Number(positional[1] ?? 2000);
const stalled = process.argv.includes('--stalled');
const burst = Number(/^--burst=(\d+)$/.exec(process.argv.find((a) => a.startsWith('--burst=')) ?? '')?.[1] ?? 0);
const { brokers, registryUrl } = connectionFromEnv();
const topic = `bench-feeds-${String(Date.now())}`;
const token = 'bench-ingest-token-0123456789';
await withTransport({ brokers }, (transport) => ensureDatasetTopic(transport, { topic, partitions: 3 }));
await registerValueSchema(registryUrl, topic, schemaText('instrument-prices', 2));

const port = await freePortBlock(2);
const env = {
  KAFKA_BROKERS: brokers.join(','),
  SCHEMA_REGISTRY_URL: registryUrl,
  HOTSTATE_DATASETS: topic,
  HOTSTATE_INGEST_TOKEN: token,
  // Bursts up to 10,000 records of ~1.1 KB in one request, and a change log that holds more than one burst.
  HOTSTATE_BODY_LIMIT_BYTES: String(16 * 1_048_576),
  HOTSTATE_MAX_BATCH_RECORDS: '10000',
  HOTSTATE_CHANGE_BUFFER: '20000',
};
const quiet: StdioOptions = ['ignore', 'ignore', 'inherit'];
const started = [spawnService('state', port, env, quiet), spawnService('ingest', port + 1, env, quiet)];
const services = started.map((service) => service.child);
const [state, ingest] = services as [ChildProcess, ChildProcess];
// The ingest service stands for upstream writers on other machines: like the followers below, it yields the CPU to
// the state service under test and to the key reader.
if (ingest.pid !== undefined) os.setPriority(ingest.pid, 19);
const [stateUrl, ingestUrl] = started.map((service) => service.url) as [string, string];
await whenReady(started);

const rssMb = (): number =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${String(state.pid)}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const venue = 'X'.repeat(1000); // ~1.1 KB values
const put = (key: string): Promise<Response> =>
  fetch(`${ingestUrl}/v1/datasets/${topic}/records/${key}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ instrument: key, price: 1, currency: 'EUR', updatedAt: Date.now(), venue }),
  });
await put('probe');
for (let i = 0; i < 200; i++) await fetch(`${stateUrl}/v1/datasets/${topic}/keys/probe`);
await sleep(1000);
const baseline = rssMb();
const memory = async (): Promise<string> => {
  const text = await (await fetch(`${stateUrl}/metrics`)).text();
  const metric = (name: string): string =>
    (Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN) / 1_048_576).toFixed(0);
  return `heap used ${metric('nodejs_heap_size_used_bytes')} MB of ${metric('nodejs_heap_size_total_bytes')} MB, external ${metric('nodejs_external_memory_bytes')} MB`;
};
const baselineMemory = await memory();

// The followers: raw HTTP, counting events (or never reading, with --stalled). This process stands for 300 remote
// clients, so it yields the CPU to the services under test (lowest priority) and only scans bytes.
os.setPriority(19);
const changeMarker = Buffer.from('event: change\n');
const resyncMarker = Buffer.from('event: resync\n');
const occurrences = (chunk: Buffer, marker: Buffer): number => {
  let n = 0;
  for (let at = chunk.indexOf(marker); at >= 0; at = chunk.indexOf(marker, at + marker.length)) n++;
  return n;
};
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
let events = 0;
let resyncs = 0;
const streams: http.ClientRequest[] = [];
await Promise.all(
  Array.from(
    { length: clients },
    () =>
      new Promise<void>((resolve, reject) => {
        const request = http.get(`${stateUrl}/v1/datasets/${topic}/changes`, { agent }, (response) => {
          if (response.statusCode !== 200) reject(new Error(`feed answered ${String(response.statusCode)}`));
          if (stalled) response.pause();
          else {
            // A marker may be split between two chunks: the previous chunk's last bytes are scanned again.
            let carry = Buffer.alloc(0);
            response.on('data', (chunk: Buffer) => {
              const scanned = Buffer.concat([carry, chunk]);
              events += occurrences(scanned, changeMarker);
              resyncs += occurrences(scanned, resyncMarker);
              carry = scanned.subarray(Math.max(0, scanned.length - (changeMarker.length - 1)));
            });
          }
          response.on('error', () => undefined);
          resolve();
        });
        request.on('error', () => undefined);
        streams.push(request);
      }),
  ),
);
const connected = rssMb();
await fetch(`${stateUrl}/metrics`); // starts a fresh event-loop delay window

let peak = connected;
const sampler = setInterval(() => {
  peak = Math.max(peak, rssMb());
}, 50);
const reader = spawn(
  process.execPath,
  [join(projectRoot, 'test', 'bench', 'key-reader.ts'), `${stateUrl}/v1/datasets/${topic}/keys/probe`],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
let readerOutput = '';
reader.stdout.on('data', (chunk: Buffer) => {
  readerOutput += chunk.toString('utf8');
});
const readerDone = new Promise((resolve) => reader.once('exit', resolve));
const writeBegan = performance.now();
if (burst > 0) {
  for (let i = 0; i < writes; i += burst) {
    const keys = Array.from({ length: Math.min(burst, writes - i) }, (_, j) => `K${String(i + j)}`);
    const answer = await fetch(`${ingestUrl}/v1/datasets/${topic}/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        updates: keys.map((key) => ({
          key,
          value: { instrument: key, price: 1, currency: 'EUR', updatedAt: Date.now(), venue },
        })),
      }),
    });
    if (!answer.ok)
      throw new Error(`a burst of ${String(keys.length)}: HTTP ${String(answer.status)} ${await answer.text()}`);
  }
} else {
  for (let i = 0; i < writes; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, writes - i) }, (_, j) => put(`K${String(i + j)}`)));
  }
}
const writeSeconds = (performance.now() - writeBegan) / 1000;
const lagText = await (await fetch(`${stateUrl}/metrics`)).text(); // event-loop delay of the state service during the writes
const lag = (name: string): string =>
  (
    Number(new RegExp(`^nodejs_eventloop_lag_${name}_seconds (\\S+)`, 'm').exec(lagText)?.[1] ?? Number.NaN) * 1000
  ).toFixed(0);
const expected = clients * writes;
const deadline = Date.now() + 60_000;
while (!stalled && events < expected && Date.now() < deadline) await sleep(100);
const deliverySeconds = (performance.now() - writeBegan) / 1000;
await sleep(stalled ? 3000 : 500);
reader.stdin.end();
await readerDone;
const latencies = (JSON.parse(readerOutput) as number[]).sort((a, b) => a - b);
clearInterval(sampler);
peak = Math.max(peak, rssMb());

for (const stream of streams) stream.destroy();
let after = rssMb();
const left = performance.now();
const settleDeadline = Date.now() + 30_000;
while (after - baseline > 50 && Date.now() < settleDeadline) {
  await fetch(`${stateUrl}/v1/datasets/${topic}/keys/probe`); // a little work lets the collector run
  await sleep(1000);
  after = rssMb();
}
const settledMemory = `${await memory()}, ${((performance.now() - left) / 1000).toFixed(0)} s after they left`;
for (const child of services) child.kill('SIGTERM');
await withTransport({ brokers }, (transport) => transport.deleteTopic(topic)).catch(() => undefined);

const pct = (p: number): string =>
  (latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? Number.NaN).toFixed(1);
const bar = (ok: boolean): string => (ok ? 'ok  ' : 'MISS');
console.log(
  `${String(clients)} ${stalled ? 'stalled' : 'reading'} change-feed clients, ${String(writes)} writes of ~1.1 KB through the ingest service${burst > 0 ? ` in bursts of ${String(burst)}` : ''} in ${writeSeconds.toFixed(1)} s`,
);
console.log(
  `events delivered: ${String(events)} of ${String(stalled ? 0 : expected)} expected in ${deliverySeconds.toFixed(1)} s; resync events: ${String(resyncs)}`,
);
console.log(
  `state service RSS: baseline ${baseline.toFixed(0)} MB, with clients ${connected.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, after they left ${after.toFixed(0)} MB`,
);
console.log(`baseline: ${baselineMemory}`);
console.log(`after they left: ${settledMemory}`);
console.log(
  `state service event-loop delay during the writes: p50 ${lag('p50')} ms, p99 ${lag('p99')} ms, max ${lag('max')} ms`,
);
console.log(
  `key reads meanwhile: ${String(latencies.length)}, p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${pct(1)} ms`,
);
console.log(`${bar(peak - baseline <= 300)} peak within 300 MB of baseline (+${(peak - baseline).toFixed(0)} MB)`);
console.log(`${bar(Number(pct(0.99)) < 50)} p99 key read under 50 ms`);
console.log(
  `${bar(Math.abs(after - baseline) <= 50)} back to baseline ±50 MB after the clients left (${(after - baseline).toFixed(0)} MB)`,
);
process.exit(0);
