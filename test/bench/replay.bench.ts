// Replay speed as users run it: every contender in a fresh process, interleaved rounds (the order rotates each
// round), min/median/max of the time from process start to a replayed store, and the hotstate view's ratio to each
// contender per round. The topic is made once and reused: N keys of ~120-byte Confluent-framed Avro records plus 8%
// overwrites and 1% tombstones, 3 partitions, not compacted yet (--compacted: another topic of the same records, which
// the cleaner has compacted before the rounds start).
//   npm run infra -- up && npm run bench:replay -- [keys=1000000] [rounds=5] [--only view,raw,...] [--compacted]
// Contenders: view (the hotstate view run as the state service's image runs it: its Node flags and compile cache),
// raw (the transport's reader, applying nothing), streams-memory and streams-rocksdb (Kafka Streams GlobalKTable),
// consumer-hashmap (Java KafkaConsumer into a HashMap), kcat (librdkafka reading the topic to /dev/null: the read-the-topic limit). The JVM contenders
// are built with Maven from test/bench/java. Results: a table on stdout, JSON in .cache/bench-replay.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectionFromEnv, projectRoot } from '../../infra/settings.ts';
import { ensureBenchTopic } from './bench-topic.ts';
import { serviceNodeEnv, serviceNodeFlags, warmCompileCache } from './service-runtime.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { only: { type: 'string' }, compacted: { type: 'boolean' } },
});
const keys = Number(positionals[0] ?? 1_000_000);
const rounds = Number(positionals[1] ?? 5);
const contenders = (values.only ?? 'view,raw,streams-memory,streams-rocksdb,consumer-hashmap,kcat').split(',');
const { brokers } = connectionFromEnv();
const { topic, records } = await ensureBenchTopic(keys, {
  overwrites: 0.08,
  deletes: 0.01,
  compacted: values.compacted === true,
});

const javaDir = join(projectRoot, 'test', 'bench', 'java');
if (contenders.some((c) => c.startsWith('streams') || c === 'consumer-hashmap')) {
  execFileSync(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      join(javaDir, 'pom.xml'),
      'package',
      'dependency:copy-dependencies',
      `-DoutputDirectory=${join(javaDir, 'target', 'lib')}`,
    ],
    { stdio: 'inherit' },
  );
}
warmCompileCache();
const worker = join(projectRoot, 'test', 'bench', 'replay-worker.ts');

interface Run {
  readonly readyMs: number;
  readonly keys?: number;
  readonly heapBytesPerKey?: number;
  readonly offHeapBytesPerKey?: number;
  readonly rssBytes?: number;
  readonly heapBytes?: number;
}

function runOnce(contender: string, extra: string[] = []): Run {
  const began = performance.now();
  const [command, args] =
    contender === 'kcat'
      ? ['kcat', ['-C', '-b', brokers.join(','), '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%o\n']]
      : contender === 'view' || contender === 'raw'
        ? [process.execPath, [...serviceNodeFlags, worker, contender, topic, ...extra]]
        : [
            'java',
            [
              '-cp',
              `${join(javaDir, 'target', 'classes')}:${join(javaDir, 'target', 'lib', '*')}`,
              'bench.Replay',
              contender,
              brokers.join(','),
              topic,
            ],
          ];
  const result = spawnSync(command, args, {
    env: serviceNodeEnv,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const wallMs = performance.now() - began;
  if (result.status !== 0) throw new Error(`${contender} exited ${String(result.status)}`);
  if (contender === 'kcat') return { readyMs: wallMs, keys: result.stdout.split('\n').length - 1 };
  return JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as Run;
}

const times = new Map<string, number[]>(contenders.map((c) => [c, []]));
const details = new Map<string, Run[]>(contenders.map((c) => [c, []]));
for (let round = 0; round < rounds; round++) {
  const order = contenders.map((_, i) => contenders[(i + round) % contenders.length] ?? '');
  for (const contender of order) {
    const run = runOnce(contender);
    times.get(contender)?.push(run.readyMs);
    details.get(contender)?.push(run);
  }
  process.stderr.write(
    `round ${String(round + 1)}/${String(rounds)}: ${contenders.map((c) => `${c} ${((times.get(c)?.[round] ?? 0) / 1000).toFixed(2)} s`).join(', ')}\n`,
  );
}
const tail = contenders.includes('view') ? (runOnce('view', ['--tail']) as Run & Record<string, number>) : undefined;

const sorted = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);
const median = (values: readonly number[]): number => sorted(values)[Math.floor(values.length / 2)] ?? Number.NaN;
const s = (ms: number): string => (ms / 1000).toFixed(2);
const viewTimes = times.get('view') ?? [];
console.log(
  `topic ${topic}: ${String(records)} records, ${String(keys)} keys (8% overwrites, 1% tombstones${values.compacted === true ? ', compacted' : ''}), 3 partitions; ${String(rounds)} interleaved rounds, fresh processes; seconds from process start to ready`,
);
console.log(
  `${'contender'.padEnd(18)} ${'min'.padStart(6)} ${'median'.padStart(7)} ${'max'.padStart(6)}   view/contender (median of per-round ratios)`,
);
const rows: Record<string, unknown> = {};
for (const contender of contenders) {
  const t = times.get(contender) ?? [];
  const ratios = t.map((ms, i) => (viewTimes[i] ?? Number.NaN) / ms);
  rows[contender] = {
    seconds: t.map((ms) => ms / 1000),
    median: median(t) / 1000,
    viewRatio: median(ratios),
    runs: details.get(contender),
  };
  console.log(
    `${contender.padEnd(18)} ${s(Math.min(...t)).padStart(6)} ${s(median(t)).padStart(7)} ${s(Math.max(...t)).padStart(6)}   ${contender === 'view' ? '' : median(ratios).toFixed(2)}`,
  );
}
const viewRun = details.get('view')?.[0];
if (viewRun?.heapBytesPerKey !== undefined)
  console.log(
    `view memory per key held (what dropping the view frees, ${String(viewRun.keys)} keys): heap ${viewRun.heapBytesPerKey.toFixed(0)} bytes, off the heap ${(viewRun.offHeapBytesPerKey ?? 0).toFixed(0)} bytes`,
  );
if (viewRun?.rssBytes !== undefined) console.log(`view RSS once ready: ${(viewRun.rssBytes / 2 ** 20).toFixed(0)} MiB`);
if (tail) {
  console.log(
    `view produce-to-visible while tailing ~1k/s: p50 ${String(tail.tailP50Ms)} ms, p99 ${String(tail.tailP99Ms)} ms, max ${String(tail.tailMaxMs)} ms over ${String(tail.tailUpdates)} updates`,
  );
  console.log(
    `GC while tailing: ${String(tail.tailGcPauses)} pauses, longest ${(tail.tailGcPauseMaxMs ?? 0).toFixed(1)} ms, ${(tail.tailGcPauseTotalMs ?? 0).toFixed(0)} ms in all`,
  );
}
mkdirSync(join(projectRoot, '.cache'), { recursive: true });
writeFileSync(
  join(projectRoot, '.cache', 'bench-replay.json'),
  JSON.stringify({ topic, records, keys, rounds, contenders: rows, tail }, null, 2),
);
