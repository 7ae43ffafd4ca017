// CDC end to end on the local pipeline (PostgreSQL → Debezium on Kafka Connect → Kafka → state service), on a
// table topic of 3 partitions: COMMIT → visible in the state service's change feed at a steady row rate, split into
// database → Kafka (the record's timestamp) and Kafka → visible; read-your-database-writes (minSourceLsn) latency;
// readers that look for a transaction seen half-applied; and, after quiescing, the state service's items against a
// SELECT of the table. Two state services read the same stream side by side: one applying whole transactions (the
// default) and one applying each change as it comes (HOTSTATE_CDC_TRANSACTIONS=each-change): what atomicity costs.
//   npm run infra -- up --cdc && npm run bench:cdc -- [rowsPerSecond=1000] [seconds=30] [rydwCommits=300]
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { endpoints, loadInfraSettings } from '../../infra/settings.ts';
import { captureTables } from '../../services/lib/cdc/capture.ts';
import { ConnectClient } from '../../services/lib/cdc/connect-client.ts';
import { topicOf } from '../../services/lib/cdc/connector-config.ts';
import { dropSlotAndPublication } from '../../services/lib/cdc/replication-slot.ts';
import { sourcePositionQuery } from '../../services/lib/cdc/source-position.ts';
import { freePortBlock } from '../helpers/ports.ts';
import { spawnService, whenReady } from '../../services/demo/service-process.ts';

const [rowsPerSecond = 1000, seconds = 30, rydwCommits = 300] = process.argv.slice(2).map(Number);
const rowsPerTx = 5;
const groups = 200; // rows id = group * rowsPerTx + i: every transaction writes one whole group with one value
const where = endpoints(loadInfraSettings({ ...process.env, HOTSTATE_INFRA_CDC: '1' }));
const databaseUrl = process.env.POSTGRES_URL ?? where.postgresUrl ?? '';
const connectUrl = process.env.KAFKA_CONNECT_URL ?? where.connectUrl ?? '';
const brokers = (process.env.KAFKA_BROKERS ?? where.kafkaBrokers.join(',')).split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? where.schemaRegistryUrl;

const database = `bench_cdc_${String(Date.now())}`;
const admin = new pg.Client({ connectionString: databaseUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${database}`);
const url = new URL(databaseUrl);
url.pathname = `/${database}`;
const sql = new pg.Client({ connectionString: url.toString() });
await sql.connect();
await sql.query('CREATE TABLE ticks (id int PRIMARY KEY, grp int NOT NULL, v bigint NOT NULL)');
await sql.query(
  `INSERT INTO ticks SELECT g, g / ${String(rowsPerTx)}, 0 FROM generate_series(0, ${String(groups * rowsPerTx - 1)}) g`,
);
const connect = new ConnectClient(connectUrl);
const source = { name: database, databaseUrl: url.toString(), tables: ['public.ticks'], registryUrl, partitions: 3 };
await captureTables(connect, { brokers }, source);
const topic = topicOf(source, 'public.ticks');

type Mode = 'whole' | 'each-change';
interface Contender {
  readonly mode: Mode;
  readonly base: string;
  readonly process: ChildProcess;
  readonly feed: http.ClientRequest;
  /** When each (id, v) became visible in the change feed, and the record's Kafka timestamp. */
  readonly seen: Map<string, { at: number; kafkaAt: number }>;
  readonly reads: { groups: number; partial: number };
}

async function startState(mode: Mode): Promise<Contender> {
  const service = spawnService('state', await freePortBlock(1), {
    KAFKA_BROKERS: brokers.join(','),
    SCHEMA_REGISTRY_URL: registryUrl,
    KAFKA_CONNECT_URL: connectUrl,
    HOTSTATE_DATASETS: topic,
    HOTSTATE_CDC_TRANSACTIONS: mode,
  });
  await whenReady([service]);
  const child = service.child;
  const base = `${service.url}/v1/datasets/${topic}`;
  const seen = new Map<string, { at: number; kafkaAt: number }>();
  const feed = http.get(`${base}/changes`, (response) => {
    let buffer = '';
    response.on('data', (chunk: Buffer) => {
      const at = Date.now();
      buffer += chunk.toString();
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame.split('\n').find((l) => l.startsWith('data: '));
        if (!frame.includes('event: change') || !data) continue;
        const event = JSON.parse(data.slice(6)) as { key: string; value?: { v: number }; timestamp: number };
        if (event.value) seen.set(`${event.key}:${String(event.value.v)}`, { at, kafkaAt: event.timestamp });
      }
    });
  });
  return { mode, base, process: child, feed, seen, reads: { groups: 0, partial: 0 } };
}

const contenders = [await startState('whole'), await startState('each-change')];
const base = (contenders[0] as Contender).base;

// Readers looking for half-applied transactions: a group's rows always change together to one value.
const readers = { reading: true };
const groupReader = async ({ base, reads }: Contender): Promise<void> => {
  while (readers.reading) {
    const grp = Math.floor(Math.random() * groups);
    const keys = Array.from({ length: rowsPerTx }, (_, i) => String(grp * rowsPerTx + i));
    const response = await fetch(`${base}/get`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keys }),
    });
    if (!response.ok) throw new Error(`POST ${base}/get: HTTP ${String(response.status)} ${await response.text()}`);
    const body = (await response.json()) as { items: Record<string, { value: { v: number } }> };
    const values = new Set(Object.values(body.items).map((item) => item.value.v));
    if (Object.keys(body.items).length !== rowsPerTx) throw new Error(`a group read returned ${JSON.stringify(body)}`);
    reads.groups++;
    if (values.size > 1) reads.partial++;
    await sleep(2);
  }
};
const reader = Promise.all(contenders.map(groupReader));

// The writer: `rowsPerSecond` rows a second, in transactions of `rowsPerTx` rows (one group each).
const commits = new Map<string, number>();
const txPerSecond = rowsPerSecond / rowsPerTx;
const began = Date.now();
let tx = 0;
while (Date.now() - began < seconds * 1000) {
  const due = began + (tx * 1000) / txPerSecond;
  if (due > Date.now()) await sleep(due - Date.now());
  tx++;
  const grp = tx % groups;
  await sql.query('UPDATE ticks SET v = $1 WHERE grp = $2', [tx, grp]);
  const committed = Date.now();
  for (let i = 0; i < rowsPerTx; i++) commits.set(`${String(grp * rowsPerTx + i)}:${String(tx)}`, committed);
}
const achieved = (tx * rowsPerTx) / ((Date.now() - began) / 1000);
const settleUntil = Date.now() + 30_000;
while (contenders.some(({ seen }) => [...commits.keys()].some((k) => !seen.has(k))) && Date.now() < settleUntil)
  await sleep(200);
readers.reading = false;
await reader;

// Read-your-database-writes: commit, take the position, read through the state service with minSourceLsn.
const rydw: number[] = [];
let stale = 0;
for (let i = 1; i <= rydwCommits; i++) {
  const id = i % (groups * rowsPerTx);
  await sql.query('UPDATE ticks SET v = $1 WHERE id = $2', [-i, id]);
  const lsn = (await sql.query<{ lsn: string }>(sourcePositionQuery)).rows[0]?.lsn ?? '';
  const t0 = performance.now();
  const read = (await (await fetch(`${base}/keys/${String(id)}?minSourceLsn=${encodeURIComponent(lsn)}`)).json()) as {
    value?: { v: number };
  };
  rydw.push(performance.now() - t0);
  if (read.value?.v !== -i) stale++;
}

// Digest: every row of the table equals the state service's item.
await sleep(1000);
const table = new Map(
  (await sql.query<{ id: number; v: string }>('SELECT id, v FROM ticks')).rows.map((r) => [String(r.id), Number(r.v)]),
);
const items = new Map<string, number>();
for (let cursor: string | undefined, first = true; first || cursor; first = false) {
  const page = (await (
    await fetch(`${base}/items?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
  ).json()) as { items: Array<{ key: string; value: { v: number } }>; nextCursor: string | null };
  for (const item of page.items) items.set(item.key, item.value.v);
  cursor = page.nextCursor ?? undefined;
}
const digestEqual = table.size === items.size && [...table].every(([k, v]) => items.get(k) === v);

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};
const row = (name: string, values: number[]): string =>
  `${name.padEnd(44)} p50 ${quantile(values, 0.5).toFixed(0).padStart(5)} ms   p99 ${quantile(values, 0.99).toFixed(0).padStart(5)} ms`;
const lines = [
  `bench:cdc — ${String(commits.size)} row changes in ${String(tx)} transactions of ${String(rowsPerTx)} rows, ${achieved.toFixed(0)} rows/s for ${String(seconds)} s, 3 partitions`,
];
let missing = 0;
for (const { mode, seen, reads } of contenders) {
  const total: number[] = [];
  const toKafka: number[] = [];
  const toVisible: number[] = [];
  for (const [key, committed] of commits) {
    const s = seen.get(key);
    if (!s) {
      missing++;
      continue;
    }
    total.push(s.at - committed);
    toKafka.push(s.kafkaAt - committed);
    toVisible.push(s.at - s.kafkaAt);
  }
  lines.push(
    `state service applying ${mode === 'whole' ? 'whole transactions (default)' : 'each change as it comes'}:`,
    row('  COMMIT → visible', total),
    row('    database → Kafka (record time)', toKafka),
    row('    Kafka → visible', toVisible),
    `  readers: ${String(reads.groups)} transaction reads, ${String(reads.partial)} saw a transaction half-applied`,
  );
}
lines.push(
  row(`read-your-database-write (${String(rydwCommits)}, whole)`, rydw),
  `stale reads after minSourceLsn: ${String(stale)}; changes never seen: ${String(missing)}`,
  `state service items = SELECT of the table: ${digestEqual ? 'yes' : 'NO'} (${String(items.size)} rows)`,
  '',
);
process.stdout.write(lines.join('\n'));

for (const { feed, process: child } of contenders) {
  feed.destroy();
  child.kill('SIGTERM');
}
await connect.remove(source.name).catch(() => undefined);
await dropSlotAndPublication(url.toString(), source.name, source.name).catch(() => undefined);
await sql.end();
await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
await admin.end();
const wholePartial = (contenders[0] as Contender).reads.partial;
process.exit(digestEqual && stale === 0 && missing === 0 && wholePartial === 0 ? 0 : 1);
