// The README's first command as a user runs it: the demo starts services and an emitter, serves state, and stops
// everything it started.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { portInUse } from '../../infra/processes.ts';
import { projectRoot } from '../../infra/settings.ts';
import { freePortBlock } from '../helpers/ports.ts';
import pg from 'pg';
import { cdcInfra } from '../helpers/cdc.ts';
import { sourcePositionQuery } from '../../services/lib/cdc/source-position.ts';

test('npm run demo: services answer while ticks flow; stopping leaves none of its processes', async () => {
  const statePort = await freePortBlock(1);
  const ingestPort = await freePortBlock(1);
  const child = spawn(
    process.execPath,
    ['--disable-warning=TimeoutNegativeWarning', join(projectRoot, 'services', 'demo', 'main.ts'), '--seconds', '12'],
    {
      env: {
        ...process.env,
        HOTSTATE_DEMO_STATE_PORT: String(statePort),
        HOTSTATE_DEMO_INGEST_PORT: String(ingestPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 60_000;
  while (!output.includes('hotstate demo is running') && Date.now() < deadline && child.exitCode === null)
    await new Promise((r) => setTimeout(r, 100));
  assert.match(output, /hotstate demo is running/);
  assert.match(output, new RegExp(`http://127\\.0\\.0\\.1:${String(statePort)}/v1/datasets`));
  // Ticks reach the state service (waited for, not assumed after a fixed time).
  const listed = async (): Promise<number> =>
    (
      (await (
        await fetch(`http://127.0.0.1:${String(statePort)}/v1/datasets/instrument-prices/items?limit=50`)
      ).json()) as { items?: unknown[] }
    ).items?.length ?? 0;
  while ((await listed()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.ok((await listed()) > 0, 'ticks reached the state service');
  assert.equal(await exited, 0, output);
  assert.match(output, /emitted \d+ ticks; state service [A-Z]+ = \d+(\.\d+)?$/m);
  assert.match(output, /demo stopped/);
  assert.equal(await portInUse(statePort), false, 'state service stopped');
  assert.equal(await portInUse(ingestPort), false, 'ingest service stopped');
});

test(
  'npm run demo -- --cdc: a row updated in PostgreSQL is read back from the state service, as the printed lines say',
  { skip: cdcSkip() },
  async () => {
    const statePort = await freePortBlock(1);
    const child = spawn(
      process.execPath,
      [
        '--disable-warning=TimeoutNegativeWarning',
        join(projectRoot, 'services', 'demo', 'main.ts'),
        '--cdc',
        '--seconds',
        '30',
      ],
      { env: { ...process.env, HOTSTATE_DEMO_STATE_PORT: String(statePort) }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    for (const stream of [child.stdout, child.stderr])
      stream.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 120_000;
    while (!output.includes('hotstate CDC demo is running') && Date.now() < deadline && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 100));
    assert.match(output, /hotstate CDC demo is running/);
    const databaseUrl = /psql (postgres:\/\/\S+) -c "UPDATE/.exec(output)?.[1];
    const keyUrl = /then read it {4}curl (\S+)/.exec(output)?.[1];
    assert.ok(databaseUrl && keyUrl, output);
    // What the printed lines tell a newcomer to do: UPDATE a row, then read it (here waiting for that commit).
    const sql = new pg.Client({ connectionString: databaseUrl });
    await sql.connect();
    await sql.query("UPDATE instruments SET price = 1234.56 WHERE symbol = 'ACME'");
    const { rows } = await sql.query<{ lsn: string }>(sourcePositionQuery);
    await sql.end();
    const read = (await (await fetch(`${keyUrl}?minSourceLsn=${encodeURIComponent(rows[0]?.lsn ?? '')}`)).json()) as {
      value?: { price: string };
      source?: { op: string; lsn: number };
    };
    assert.equal(read.value?.price, '1234.56');
    assert.equal(read.source?.op, 'u');
    assert.equal(await exited, 0, output);
    assert.match(output, /updates; [A-Z]+: database (\d+\.\d+), state service \1$/m);
    assert.match(output, /demo stopped/);
    assert.equal(await portInUse(statePort), false, 'state service stopped');
  },
);

function cdcSkip(): string | false {
  const infra = cdcInfra();
  return typeof infra === 'string' ? infra : false;
}
