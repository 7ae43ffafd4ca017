// Snapshots: how much sooner a fresh process is ready from a local snapshot than by replaying the topic, and what
// writing the snapshot costs a running view. Each contender runs in a fresh process (as the state service's image runs),
// the two alternate in interleaved rounds, medians are reported.
//   npm run infra -- up && npm run bench:snapshot -- [keys=1000000] [rounds=3]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBenchTopic } from './bench-topic.ts';
import { serviceNodeEnv, serviceNodeFlags, warmCompileCache } from './service-runtime.ts';

const keys = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.argv[3] ?? 3);
const { topic, records } = await ensureBenchTopic(keys);
const dir = mkdtempSync(join(tmpdir(), 'hotstate-bench-snapshots-'));
const worker = join(import.meta.dirname, 'snapshot-worker.ts');
warmCompileCache();
const run = (args: string[]): Record<string, number | string> =>
  JSON.parse(
    execFileSync(process.execPath, [...serviceNodeFlags, worker, ...args], {
      env: serviceNodeEnv,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 20,
    })
      .trim()
      .split('\n')
      .pop() ?? '{}',
  ) as Record<string, number | string>;

const write = run(['write', topic, dir]);
const replay: number[] = [];
const restore: number[] = [];
const memory = new Map<string, Record<string, number | string>>();
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? ['replay', 'restore'] : ['restore', 'replay'];
  for (const contender of order) {
    const result = run(contender === 'replay' ? ['ready', topic] : ['ready', topic, dir]);
    if (contender === 'restore' && result.outcome !== 'used')
      throw new Error(`the snapshot was not used: ${JSON.stringify(result)}`);
    (contender === 'replay' ? replay : restore).push(Number(result.readyMs));
    memory.set(contender, result);
  }
}
rmSync(dir, { recursive: true, force: true });

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const ratio = median(restore) / median(replay);
console.log(
  `topic ${topic}: ${String(records)} records, ${String(write.entries)} keys; ${String(rounds)} interleaved rounds, each contender a fresh process`,
);
console.log(`process start to ready, full replay:   median ${s(median(replay))} (${replay.map(s).join(', ')})`);
console.log(
  `process start to ready, from snapshot: median ${s(median(restore))} (${restore.map(s).join(', ')}); ${ratio.toFixed(2)} of the replay (bar <= 0.20)`,
);
console.log(
  `snapshot write: ${String(write.entries)} entries, ${(Number(write.bytes) / 1e6).toFixed(0)} MB in ${Number(write.seconds).toFixed(2)} s`,
);
console.log(
  `meanwhile: event-loop delay p99 ${Number(write.loopP99Ms).toFixed(1)} ms (max ${Number(write.loopMaxMs).toFixed(1)}); a read every ms ran late by p99 ${Number(write.readLatenessP99Ms).toFixed(1)} ms (max ${Number(write.readLatenessMaxMs).toFixed(1)}) over ${String(write.reads)} reads (bar <= 20 ms); ${String(write.updates)} updates visible after p99 ${String(write.visibleP99Ms)} ms`,
);
const mb = (contender: string): string => {
  const m = memory.get(contender) ?? {};
  return `heap ${Number(m.heapMB).toFixed(0)} MB, off-heap ${Number(m.offHeapMB).toFixed(0)} MB, RSS ${Number(m.rssMB).toFixed(0)} MB`;
};
console.log(
  `memory once ready (after a full GC, last round): full replay ${mb('replay')}; from snapshot ${mb('restore')}`,
);
console.log(
  `${ratio <= 0.2 ? 'ok  ' : 'MISS'} restore <= 1/5 of a replay; ${Number(write.readLatenessP99Ms) <= 20 && Number(write.loopP99Ms) <= 20 ? 'ok  ' : 'MISS'} p99 block during the write <= 20 ms`,
);
