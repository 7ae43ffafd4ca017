// Replay over SASL_SSL (SCRAM-SHA-512, TLS, ACLs) against plaintext: the same data set on the plaintext cluster and
// on the secured one, the hotstate view replaying it in a fresh process with the state service's flags, the two
// clusters alternating in interleaved rounds, medians. The secured cluster is the one the tests use
// (`.infra-secure`, ports +200): start both first.
//   npm run infra -- up && HOTSTATE_INFRA_DIR=.infra-secure HOTSTATE_KAFKA_PORT=9292 HOTSTATE_REGISTRY_PORT=8281 npm run infra -- up --secure
//   npm run bench:secure -- [keys=1000000] [rounds=5]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { clientEnv, secureFiles } from '../../infra/secure-cluster.ts';
import { endpoints, projectRoot } from '../../infra/settings.ts';
import { secureTestSettings } from '../global-setup.ts';
import { ensureBenchTopic } from './bench-topic.ts';

const keys = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.argv[3] ?? 5);
const secure = secureTestSettings();
const where = endpoints(secure);
const secureEnv = {
  ...process.env,
  KAFKA_BROKERS: where.kafkaBrokers.join(','),
  SCHEMA_REGISTRY_URL: where.schemaRegistryUrl,
  ...clientEnv(secureFiles(secure)),
};
const plainEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) => !/^KAFKA_(SECURITY|SASL|TLS)|^SCHEMA_REGISTRY_(USERNAME|PASSWORD|CA)/.test(name),
  ),
);
const mix = { overwrites: 0.08, deletes: 0.01 };
const { topic, records } = await ensureBenchTopic(keys, mix, plainEnv);
const secured = await ensureBenchTopic(keys, mix, secureEnv);

const flags = ['--disable-warning=TimeoutNegativeWarning', '--max-semi-space-size=16', '--max-old-space-size=8192'];
const worker = join(projectRoot, 'test', 'bench', 'replay-worker.ts');
const run = (env: NodeJS.ProcessEnv, benchTopic: string): number => {
  const result = spawnSync(process.execPath, [...flags, worker, 'view', benchTopic], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`the view worker exited ${String(result.status)}`);
  return (JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as { readyMs: number }).readyMs;
};
const times = { plaintext: [] as number[], secured: [] as number[] };
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? (['plaintext', 'secured'] as const) : (['secured', 'plaintext'] as const);
  for (const which of order)
    times[which].push(which === 'plaintext' ? run(plainEnv, topic) : run(secureEnv, secured.topic));
  process.stderr.write(
    `round ${String(round + 1)}/${String(rounds)}: plaintext ${((times.plaintext[round] ?? 0) / 1000).toFixed(2)} s, SASL_SSL ${((times.secured[round] ?? 0) / 1000).toFixed(2)} s\n`,
  );
}
const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const ratio = median(times.secured) / median(times.plaintext);
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
console.log(
  `${String(records)} records, ${String(keys)} keys, 3 partitions on each cluster; ${String(rounds)} interleaved rounds, each a fresh process (createView -> ready)`,
);
console.log(
  `plaintext:                      median ${s(median(times.plaintext))} (${times.plaintext.map(s).join(', ')})`,
);
console.log(`SASL_SSL + SCRAM-SHA-512 + ACLs: median ${s(median(times.secured))} (${times.secured.map(s).join(', ')})`);
console.log(`${ratio <= 1.2 ? 'ok  ' : 'MISS'} SASL_SSL takes ${ratio.toFixed(2)} x the plaintext time (bar <= 1.20)`);
