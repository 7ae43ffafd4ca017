// One Node contender of `bench:replay`, in a fresh process; prints one JSON line (readyMs: since process start).
//   node replay-worker.ts view <topic> [--tail]   the hotstate view as a service uses it (createView → ready);
//                                                 then the heap and off-heap memory per key that dropping the view frees and, with --tail, produce-to-visible at ~1k/s
//   node replay-worker.ts raw <topic>             the transport's reader iterating every record, applying nothing
import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../services/lib/logger.ts';
import { createProducer } from '../../services/lib/producer/producer.ts';
import { createPlatformaticTransport } from '../../services/lib/transport/platformatic/platformatic-transport.ts';
import { readRange } from '../../services/lib/transport/read-range.ts';
import { createView, type HotstateView } from '../../services/lib/view/view.ts';
import { benchConnection, benchSchema, benchValue } from './bench-topic.ts';

const [mode, topic = ''] = process.argv.slice(2);
const { kafka, registryUrl } = benchConnection();
const gc = (globalThis as { gc?: () => void }).gc;

if (mode === 'raw') {
  const transport = createPlatformaticTransport(kafka);
  let records = 0;
  await readRange(transport, topic, (chunk) => {
    records += chunk.records.length;
  });
  console.log(JSON.stringify({ readyMs: performance.now(), records }));
  process.exit(0);
}

/** Replays the topic into a view (and tails it when asked); returns the figures and the memory while it is held. */
async function replay(): Promise<{ result: Record<string, number>; held: NodeJS.MemoryUsage }> {
  const view = await createView({ kafka, registryUrl, topic, logger: createLogger({ level: 'warn' }) });
  await view.ready;
  const result: Record<string, number> = {
    readyMs: performance.now(),
    keys: view.size,
    rssBytes: process.memoryUsage().rss,
  };
  if (process.argv.includes('--tail')) Object.assign(result, await tail(view));
  await view.close(); // the closed view still holds its store: what dropping it frees is the data
  gc?.();
  gc?.();
  return { result, held: process.memoryUsage() };
}

/** ~1000 updates/s for 10 s, each measured from its record timestamp to visible in the view. */
async function tail(view: HotstateView): Promise<Record<string, number>> {
  const latencies: number[] = [];
  view.onChange((change) => {
    latencies.push(Date.now() - change.timestamp);
  });
  const pauses: number[] = [];
  const gcs = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push(entry.duration);
  });
  gcs.observe({ entryTypes: ['gc'] });
  const producer = await createProducer({ kafka, registryUrl, topic, schema: benchSchema });
  const began = Date.now();
  for (let i = 0; i < 10_000; i++) {
    const due = began + i;
    if (due > Date.now()) await sleep(due - Date.now());
    void producer.upsert(`k${String(i)}`, benchValue(i, 3));
  }
  await sleep(1000);
  await producer.close();
  gcs.disconnect();
  const pct = (values: number[], p: number): number =>
    [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))] ?? 0;
  return {
    tailP50Ms: pct(latencies, 0.5),
    tailP99Ms: pct(latencies, 0.99),
    tailMaxMs: pct(latencies, 1),
    tailUpdates: latencies.length,
    tailGcPauses: pauses.length,
    tailGcPauseMaxMs: pct(pauses, 1),
    tailGcPauseTotalMs: pauses.reduce((a, b) => a + b, 0),
  };
}

const { result, held } = await replay();
if (gc) {
  gc();
  gc();
  const freed = process.memoryUsage();
  const keys = result.keys ?? 1;
  result.heapBytesPerKey = (held.heapUsed - freed.heapUsed) / keys;
  result.offHeapBytesPerKey = (held.arrayBuffers - freed.arrayBuffers) / keys;
}
console.log(JSON.stringify(result));
process.exit(0);
