// Views over Debezium change streams from a real PostgreSQL through a real Kafka Connect, Avro converter, broker and
// registry: every primary-key type, a snapshot of existing rows then streaming, deletes, a table altered mid-stream,
// and kill -9 of Connect and of PostgreSQL. After quiescing, each view holds exactly what a SELECT of its table shows.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type pg from 'pg';
import { stopComponent, up } from '../../infra/launcher.ts';
import { captureTables, cdcInfra, eventually, testDatabase, type CdcInfra } from '../helpers/cdc.ts';
import { testView } from '../helpers/views.ts';
import { serviceEnv, startService, waitReady } from '../helpers/services.ts';
import { sourcePositionQuery } from '../../services/lib/cdc/source-position.ts';
import { cdcStatus } from '../../services/cli/cdc-commands.ts';
import type { HotstateView } from '../../services/lib/view/view.ts';

const infra = cdcInfra();
const skip = typeof infra === 'string' ? infra : false;
const cdc = (): CdcInfra => infra as CdcInfra;

type Row = Record<string, string | null>;
/** Every column as text (null stays null): the database and the view compared on equal terms. */
const asText = (row: Record<string, unknown>): Row =>
  Object.fromEntries(
    Object.entries(row).map(([k, v]) => [
      k,
      v === null || v === undefined ? null : typeof v === 'object' ? JSON.stringify(v) : String(v as string | number),
    ]),
  );

async function tableContent(sql: pg.Client, table: string, keyOf: (row: Record<string, unknown>) => string) {
  const { rows } = await sql.query<Record<string, unknown>>(`SELECT * FROM ${table}`);
  return new Map(rows.map((row) => [keyOf(row), asText(row)]));
}

function viewContent(view: HotstateView): Map<string, Row> {
  const snapshot = view.snapshot();
  try {
    return new Map([...snapshot.items()].map((item) => [item.key, asText(item.value as Record<string, unknown>)]));
  } finally {
    snapshot.release();
  }
}

/** Waits until the view equals the table, then asserts it (the assertion shows the difference). */
async function assertViewEqualsTable(
  view: HotstateView,
  sql: pg.Client,
  table: string,
  keyOf: (row: Record<string, unknown>) => string,
): Promise<void> {
  const same = async (): Promise<boolean> =>
    JSON.stringify([...viewContent(view)].sort()) ===
    JSON.stringify([...(await tableContent(sql, table, keyOf))].sort());
  await eventually(`view of ${table} equals the table`, same).catch(() => undefined);
  assert.deepEqual(
    new Map([...viewContent(view)].sort()),
    new Map([...(await tableContent(sql, table, keyOf))].sort()),
    `view of ${table} differs from SELECT * FROM ${table}`,
  );
}

const byId = (row: Record<string, unknown>): string => String(row.id);

test(
  'every primary-key type: snapshot of existing rows, then inserts, updates and deletes; source metadata beside the value',
  { skip, timeout: 300_000 },
  async (t: TestContext) => {
    const db = await testDatabase(t, cdc());
    await db.sql.query(`
    CREATE TABLE k_int (id int PRIMARY KEY, name text NOT NULL, qty bigint, price numeric(10,2));
    CREATE TABLE k_bigint (id bigint PRIMARY KEY, name text);
    CREATE TABLE k_uuid (id uuid PRIMARY KEY, name text);
    CREATE TABLE k_text (id text PRIMARY KEY, n int);
    CREATE TABLE k_comp (a text, b int, v text, PRIMARY KEY (a, b));
    INSERT INTO k_int SELECT g, 'n' || g, g * 10, g / 3.0 FROM generate_series(1, 50) g;
    INSERT INTO k_bigint VALUES (9007199254740993, 'beyond 2^53'), (-5, 'negative');
    INSERT INTO k_uuid SELECT gen_random_uuid(), 'u' || g FROM generate_series(1, 20) g;
    INSERT INTO k_text VALUES ('plain', 1), ('with space', 2), ('ünïcødé/słash', 3);
    INSERT INTO k_comp VALUES ('x', 1, 'one'), ('x', 2, 'two'), ('y', 1, 'three');
  `);
    const tables = ['public.k_int', 'public.k_bigint', 'public.k_uuid', 'public.k_text', 'public.k_comp'];
    const { topics } = await captureTables(t, cdc(), db, tables);
    const views = new Map<string, HotstateView>();
    for (const [table, topic] of topics) {
      const view = await testView(t, topic);
      await view.ready;
      views.set(table, view);
    }
    const comp = (row: Record<string, unknown>): string => JSON.stringify({ a: row.a, b: row.b });
    const keyOf = (table: string) => (table === 'public.k_comp' ? comp : byId);
    for (const table of tables)
      await assertViewEqualsTable(views.get(table) as HotstateView, db.sql, table, keyOf(table));

    // Streaming: inserts, updates (key kept), deletes (envelope op d + tombstone), a key updated in place.
    await db.sql.query(`
    INSERT INTO k_int SELECT g, 'late' || g, g, 1.5 FROM generate_series(51, 80) g;
    UPDATE k_int SET qty = qty + 1, price = 99.99 WHERE id % 7 = 0;
    DELETE FROM k_int WHERE id % 5 = 0;
    UPDATE k_bigint SET name = 'renamed' WHERE id = 9007199254740993;
    DELETE FROM k_uuid WHERE name IN ('u1', 'u2', 'u3');
    INSERT INTO k_uuid VALUES ('00000000-0000-4000-8000-000000000001', 'fixed');
    UPDATE k_text SET n = n * 100;
    DELETE FROM k_text WHERE id = 'with space';
    DELETE FROM k_comp WHERE a = 'x' AND b = 2;
    INSERT INTO k_comp VALUES ('z', 9, 'new');
  `);
    for (const table of tables)
      await assertViewEqualsTable(views.get(table) as HotstateView, db.sql, table, keyOf(table));

    const big = views.get('public.k_bigint')?.get<Record<string, unknown>>('9007199254740993');
    assert.equal(big?.value.name, 'renamed', 'a bigint key beyond 2^53 keeps its exact text');
    const source = (views.get('public.k_int') as HotstateView).get('51')?.source;
    assert.ok(source, 'a captured change keeps its source');
    assert.equal(source.op, 'c');
    assert.equal(source.table, 'k_int');
    assert.equal(source.db, db.name);
    assert.ok(source.lsn !== undefined && source.txId !== undefined, 'lsn and txId kept beside the value');
    assert.equal(
      views.get('public.k_int')?.get<Record<string, unknown>>('1')?.source?.op,
      'r',
      'snapshot rows are reads',
    );
    assert.equal(views.get('public.k_comp')?.get<Record<string, unknown>>('{"a":"z","b":9}')?.value.v, 'new');
    assert.equal(views.get('public.k_uuid')?.has('00000000-0000-4000-8000-000000000001'), true);
  },
);

test(
  'a snapshot of 100,000 existing rows, then streaming transactions: the view equals the table',
  { skip, timeout: 300_000 },
  async (t: TestContext) => {
    const db = await testDatabase(t, cdc());
    await db.sql.query(`
    CREATE TABLE big (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2), note text);
    INSERT INTO big SELECT g, 'row ' || g, g * 1.25, CASE WHEN g % 3 = 0 THEN NULL ELSE md5(g::text) END
      FROM generate_series(1, 100000) g;
  `);
    const { topics } = await captureTables(t, cdc(), db, ['public.big']);
    const view = await testView(t, topics.get('public.big') as string);
    await view.ready;
    for (let i = 0; i < 50; i++) {
      await db.sql.query('BEGIN');
      await db.sql.query('UPDATE big SET amount = amount + 1 WHERE id % 50 = $1', [i]);
      await db.sql.query('DELETE FROM big WHERE id = $1', [1000 + i]);
      await db.sql.query("INSERT INTO big VALUES ($1, 'new', 0, NULL)", [200000 + i]);
      await db.sql.query('COMMIT');
    }
    await assertViewEqualsTable(view, db.sql, 'public.big', byId);
    assert.equal(view.size, 100000);
  },
);

test(
  'kill -9 of Kafka Connect and of PostgreSQL mid-stream: nothing lost, re-delivered events change nothing',
  { skip, timeout: 300_000 },
  async (t: TestContext) => {
    const db = await testDatabase(t, cdc());
    await db.sql.query('CREATE TABLE churn (id int PRIMARY KEY, v bigint NOT NULL)');
    const { topics } = await captureTables(t, cdc(), db, ['public.churn']);
    const view = await testView(t, topics.get('public.churn') as string);
    await view.ready;
    const { settings } = cdc();
    const run = { writing: true };
    let commits = 0;
    const writer = (async () => {
      let sql: pg.Client | undefined;
      while (run.writing) {
        try {
          sql ??= await db.connect();
          const id = commits % 500;
          await sql.query('INSERT INTO churn VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v', [
            id,
            commits,
          ]);
          if (commits % 11 === 0) await sql.query('DELETE FROM churn WHERE id = $1', [(id + 250) % 500]);
          commits++;
        } catch {
          sql = undefined; // the database is down: a new session once it is back (the helper closes them all)
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    })();
    const commitsPassed = async (n: number): Promise<void> => {
      const target = commits + n;
      await eventually(`${String(n)} more commits`, () => commits >= target);
    };
    await commitsPassed(300);
    await stopComponent(settings, 'connect', 'kill');
    await commitsPassed(300);
    await up(settings);
    await commitsPassed(300);
    await stopComponent(settings, 'postgres', 'kill');
    await up(settings);
    await commitsPassed(300);
    run.writing = false;
    await writer;
    await assertViewEqualsTable(view, await db.connect(), 'public.churn', byId);
    assert.ok(commits >= 1200);
  },
);

test(
  'a table altered mid-stream: an added column appears, a dropped one goes, a refused type change is named; the view keeps serving',
  { skip, timeout: 300_000 },
  async (t: TestContext) => {
    const db = await testDatabase(t, cdc());
    await db.sql.query(
      "CREATE TABLE shapes (id int PRIMARY KEY, name text NOT NULL); INSERT INTO shapes VALUES (1, 'a'), (2, 'b')",
    );
    const { source, topics } = await captureTables(t, cdc(), db, ['public.shapes']);
    const view = await testView(t, topics.get('public.shapes') as string);
    await view.ready;
    await assertViewEqualsTable(view, db.sql, 'public.shapes', byId);
    await db.sql.query("ALTER TABLE shapes ADD COLUMN colour text DEFAULT 'red'");
    await db.sql.query("INSERT INTO shapes VALUES (3, 'c', 'blue'); UPDATE shapes SET name = 'a2' WHERE id = 1");
    await eventually(
      'the added column reaches the view',
      () => view.get<Record<string, unknown>>('3')?.value.colour === 'blue',
    );
    assert.equal(view.get<Record<string, unknown>>('1')?.value.colour, 'red');
    assert.equal(
      view.get<Record<string, unknown>>('2')?.value.colour,
      undefined,
      'a row not changed since keeps its old shape',
    );
    await db.sql.query('ALTER TABLE shapes DROP COLUMN name');
    await db.sql.query("INSERT INTO shapes VALUES (4, 'green')");
    await eventually('a row written after the drop arrives', () => view.has('4'));
    assert.deepEqual({ ...(view.get('4')?.value as object) }, { id: 4, colour: 'green' });
    assert.equal(view.status().state, 'ready');

    // A type change the registry refuses (BACKWARD): the task stops, `cdc status` names the subject and the rule,
    // and the view keeps serving what it holds.
    await db.sql.query('ALTER TABLE shapes ALTER COLUMN colour DROP DEFAULT, ALTER COLUMN colour TYPE int USING 0');
    await db.sql.query('INSERT INTO shapes VALUES (5, 5)');
    const lines: string[] = [];
    // The slot goes inactive a moment before Connect marks the task FAILED: wait for the task's own state.
    await eventually('the task fails on the refused schema', async () => {
      lines.length = 0;
      await cdcStatus(cdc().connect, source.name, db.url, (line) => lines.push(line));
      return /task 0: FAILED/.test(lines.join('\n'));
    });
    assert.match(lines.join('\n'), /task 0: FAILED — .*Incompatible artifact: .*shapes-value/);
    assert.equal(view.status().state, 'ready');
    assert.equal(view.get<Record<string, unknown>>('4')?.value.colour, 'green');
  },
);

test(
  'whole transactions: 1,000 transactions of 1–1,000 rows over two tables (1 and 3 partitions); readers never see part of one',
  { skip, timeout: 900_000 },
  async (t: TestContext) => {
    const db = await testDatabase(t, cdc());
    // Each transaction moves amounts between rows of both tables; its deltas sum to 0 in each table, so any read
    // that shows part of a transaction (almost surely) sees a sum other than 0.
    await db.sql.query(`CREATE TABLE ledger_a (id int PRIMARY KEY, balance bigint NOT NULL);
      CREATE TABLE ledger_b (id int PRIMARY KEY, balance bigint NOT NULL);
      INSERT INTO ledger_a SELECT g, 0 FROM generate_series(1, 500) g;
      INSERT INTO ledger_b SELECT g, 0 FROM generate_series(1, 2000) g`);
    const a = await captureTables(t, cdc(), db, ['public.ledger_a'], { partitions: 1 });
    const b = await captureTables(t, cdc(), db, ['public.ledger_b'], { partitions: 3 });
    const topicA = a.topics.get('public.ledger_a') as string;
    const topicB = b.topics.get('public.ledger_b') as string;
    const views = [await testView(t, topicA), await testView(t, topicB)];
    await Promise.all(views.map((view) => view.ready));
    const state = await startService(t, 'state', serviceEnv([topicB]));
    await waitReady(state);

    const sumOf = (view: HotstateView): number => {
      const snapshot = view.snapshot();
      try {
        let sum = 0;
        for (const item of snapshot.items()) sum += (item.value as { balance: number }).balance;
        return sum;
      } finally {
        snapshot.release();
      }
    };
    const reads = { snapshot: 0, listener: 0, service: 0 };
    const partial: string[] = [];
    let heard = 0;
    views[1]?.onChange(() => {
      if (++heard % 97 !== 0) return;
      reads.listener++;
      const sum = sumOf(views[1] as HotstateView);
      if (sum !== 0) partial.push(`a change listener saw ledger_b sum to ${String(sum)}`);
    });
    const run = { writing: true };
    const snapshotReader = (async () => {
      while (run.writing) {
        for (const view of views) {
          reads.snapshot++;
          const sum = sumOf(view);
          if (sum !== 0) partial.push(`a snapshot of ${view.topic} summed to ${String(sum)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const serviceReader = (async () => {
      while (run.writing) {
        const response = await fetch(`${state.url}/v1/datasets/${topicB}/items?limit=10000`);
        const body = (await response.json()) as { items: Array<{ value: { balance: number } }> };
        reads.service++;
        const sum = body.items.reduce((s, item) => s + item.value.balance, 0);
        if (sum !== 0) partial.push(`the state service's items summed to ${String(sum)}`);
      }
    })();

    let seed = 42;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const moves = (ids: number, n: number): string => {
      const picked = new Set<number>();
      while (picked.size < n) picked.add(1 + Math.floor(random() * ids));
      const deltas = [...picked].map(() => Math.floor(random() * 200) - 100);
      deltas[0] = (deltas[0] ?? 0) - deltas.reduce((s, d) => s + d, 0);
      return [...picked].map((id, i) => `(${String(id)}, ${String(deltas[i])})`).join(',');
    };
    const transactions = 1000;
    let rows = 0;
    for (let k = 0; k < transactions; k++) {
      // Mostly small, some large; the first and the 500th touch 1,000 rows of ledger_b.
      const n = k === 0 || k === 500 ? 1000 : 1 + Math.floor(999 * random() ** 4);
      rows += n + Math.min(n, 50);
      await db.sql.query(`BEGIN;
        UPDATE ledger_b SET balance = balance + v.d FROM (VALUES ${moves(2000, n)}) v(id, d) WHERE ledger_b.id = v.id;
        UPDATE ledger_a SET balance = balance + v.d FROM (VALUES ${moves(500, Math.min(n, 50))}) v(id, d) WHERE ledger_a.id = v.id;
        COMMIT`);
    }
    await assertViewEqualsTable(views[0] as HotstateView, db.sql, 'public.ledger_a', byId);
    await assertViewEqualsTable(views[1] as HotstateView, db.sql, 'public.ledger_b', byId);
    run.writing = false;
    await Promise.all([snapshotReader, serviceReader]);
    const metrics = await (await fetch(`${state.url}/metrics`)).text();
    const counted = (outcome: string): number =>
      Number(
        new RegExp(`hotstate_view_transactions_total\\{topic="${topicB}",outcome="${outcome}"\\} (\\d+)`).exec(
          metrics,
        )?.[1] ?? 0,
      );
    t.diagnostic(
      `${String(transactions)} transactions, ${String(rows)} row changes; reads: ${JSON.stringify(reads)}; state service applied ${String(counted('complete'))} whole, ${String(counted('torn'))} torn`,
    );
    assert.deepEqual(partial.slice(0, 5), [], `${String(partial.length)} reads saw part of a transaction`);
    assert.ok(reads.snapshot > 100 && reads.listener > 100 && reads.service > 20, JSON.stringify(reads));
    assert.ok(counted('complete') >= transactions, 'every transaction applied whole by the state service');
    assert.equal(counted('torn'), 0);
    for (const view of views) {
      const status = view.status().transactions;
      assert.ok(status, `${view.topic} applies whole transactions`);
      assert.equal(status.topic, `${view.topic.split('.')[0] ?? ''}.transaction`);
      assert.ok(status.complete >= transactions, JSON.stringify(status));
      assert.deepEqual([status.torn, status.heldRecords, status.waiting], [0, 0, 0]);
    }
  },
);

test(
  'read-your-database-writes over 1,000 commits: the library view and the state service (minSourceLsn) never read stale',
  { skip, timeout: 600_000 },
  async (t: TestContext) => {
    const db = await testDatabase(t, cdc());
    await db.sql.query('CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)');
    await db.sql.query('INSERT INTO accounts SELECT g, 0 FROM generate_series(1, 100) g');
    const { source, topics } = await captureTables(t, cdc(), db, ['public.accounts']);
    const topic = topics.get('public.accounts') as string;
    const connectUrl = cdc().connect.url;
    const view = await testView(t, topic, { source: { connectUrl, connector: source.name } });
    await view.ready;
    const state = await startService(
      t,
      'state',
      serviceEnv([topic], {
        KAFKA_CONNECT_URL: connectUrl,
        HOTSTATE_CDC_DATABASE_URL: db.url,
        HOTSTATE_CDC_SLOT_INTERVAL_MS: '500',
      }),
    );
    await waitReady(state);
    // The slot behind the dataset, as gauges the alert rules watch.
    await eventually('the slot gauges', async () => {
      const text = await (await fetch(`${state.url}/metrics`)).text();
      return (
        text.includes(`hotstate_cdc_slot_active{slot="${source.name}"} 1`) &&
        new RegExp(`hotstate_cdc_slot_retained_bytes\\{slot="${source.name}"\\} \\d+`).test(text)
      );
    });

    const sessions = 4;
    const commitsPerSession = 250;
    let stale = 0;
    const waits: number[] = [];
    await Promise.all(
      Array.from({ length: sessions }, async (_, session) => {
        const sql = await db.connect();
        for (let i = 1; i <= commitsPerSession; i++) {
          // Each session its own 25 rows: a value another session wrote since would look like a stale read.
          const id = 1 + session * 25 + (i % 25);
          const balance = session * 1_000_000 + i;
          await sql.query('BEGIN');
          await sql.query('UPDATE accounts SET balance = $2 WHERE id = $1', [id, balance]);
          await sql.query('COMMIT');
          const { rows } = await sql.query<{ lsn: string }>(sourcePositionQuery);
          const lsn = rows[0]?.lsn as string;
          const began = performance.now();
          if (i % 2 === 0) {
            await view.waitForSource({ lsn });
            const seen = view.get<{ balance: number }>(String(id))?.value.balance;
            if (seen !== balance) {
              stale++;
              t.diagnostic(`stale in the view: ${String(id)} = ${String(seen)} after committing ${String(balance)}`);
            }
          } else {
            const response = await fetch(
              `${state.url}/v1/datasets/${topic}/keys/${String(id)}?minSourceLsn=${encodeURIComponent(lsn)}`,
            );
            const body = (await response.json()) as { value?: { balance: number } };
            if (body.value?.balance !== balance) {
              stale++;
              t.diagnostic(
                `stale in the state service: ${String(id)} = ${String(body.value?.balance)} after committing ${String(balance)}`,
              );
            }
          }
          waits.push(performance.now() - began);
        }
      }),
    );
    waits.sort((a, b) => a - b);
    const at = (q: number): number => waits[Math.min(waits.length - 1, Math.floor(q * waits.length))] ?? NaN;
    t.diagnostic(
      `read-your-database-writes: ${String(waits.length)} commits, ${String(stale)} stale; wait p50 ${at(0.5).toFixed(0)} ms, p99 ${at(0.99).toFixed(0)} ms`,
    );
    assert.equal(waits.length, sessions * commitsPerSession);
    assert.equal(stale, 0, 'a read after waitForSource / minSourceLsn showed an older value');
  },
);
