// One contender of the snapshot benchmark, in a fresh process; prints one JSON line.
//   node snapshot-worker.ts ready <topic> [snapshot dir]   time from process start to a ready view (from a snapshot when a dir is given)
//   node snapshot-worker.ts write <topic> <dir>            replays, then writes a snapshot while reads and updates go on, measuring both
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { preloadSnapshot } from '../../services/lib/snapshot/base-loader.ts';

const [mode, topic = '', dir] = process.argv.slice(2);
// As the state service starts (services/state/main.ts): the snapshot is loaded on another thread while the rest of
// the modules load here.
if (mode === 'ready' && dir) preloadSnapshot(dir, topic);
const { connectionFromEnv } = await import('../../infra/settings.ts');
const { snapshotFileName } = await import('../../services/lib/snapshot/snapshot-dir.ts');
const { createView } = await import('../../services/lib/view/view.ts');
const { createLogger } = await import('../../services/lib/logger.ts');
const { benchSchema, benchValue } = await import('./bench-topic.ts');

const { brokers, registryUrl } = connectionFromEnv();
const logger = createLogger({ level: 'warn' });
const view = await createView({
  kafka: { brokers },
  registryUrl,
  topic,
  logger,
  ...(mode === 'ready' && dir ? { snapshot: { dir } } : {}),
});
await view.ready;
const readyMs = performance.now(); // since this process started

const percentile = (values: number[], p: number): number =>
  values.sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? Number.NaN;

if (mode === 'ready') {
  (globalThis as { gc?: () => void }).gc?.(); // after the timing: what the ready view holds, not what building it left
  const { heapUsed, external, rss } = process.memoryUsage();
  console.log(
    JSON.stringify({
      readyMs,
      keys: view.size,
      outcome: view.status().snapshot.restore?.outcome ?? 'none',
      heapMB: heapUsed / 1e6,
      offHeapMB: external / 1e6,
      rssMB: rss / 1e6,
    }),
  );
} else {
  if (!dir) throw new Error('write needs a folder');
  // While the snapshot is written: a read every millisecond (how late each one runs is how long something blocked
  // it) and ~500 updates/s through a producer (how long each takes to become visible is the apply loop's delay).
  const { createProducer } = await import('../../services/lib/producer/producer.ts');
  const producer = await createProducer({
    kafka: { brokers, clientId: 'hotstate-bench' },
    registryUrl,
    topic,
    schema: benchSchema,
  });
  const visible: number[] = [];
  view.onChange((change) => {
    visible.push(Date.now() - change.timestamp);
  });
  const lateness: number[] = [];
  let expected = performance.now() + 1;
  const reader = setInterval(() => {
    const now = performance.now();
    lateness.push(Math.max(0, now - expected));
    expected = now + 1;
    view.get(`k${String(Math.floor(Math.random() * view.size))}`);
  }, 1);
  let n = 0;
  const writer = setInterval(() => {
    void producer.upsert(`k${String(n)}`, benchValue(n++, 2));
  }, 2);
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const written = await view.writeSnapshot(join(dir, snapshotFileName(topic, Date.now())));
  loop.disable();
  clearInterval(reader);
  clearInterval(writer);
  await producer.close();
  console.log(
    JSON.stringify({
      readyMs,
      entries: written.header.entries,
      bytes: written.bytes,
      seconds: written.seconds,
      loopP99Ms: loop.percentile(99) / 1e6,
      loopMaxMs: loop.max / 1e6,
      readLatenessP99Ms: percentile(lateness, 0.99),
      readLatenessMaxMs: Math.max(...lateness),
      reads: lateness.length,
      visibleP99Ms: percentile(visible, 0.99),
      updates: visible.length,
    }),
  );
}
await view.close();
process.exit(0);
