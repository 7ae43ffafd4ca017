// The README's first command as a user runs it: the demo starts services and an emitter, serves state, and stops
// everything it started.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { portInUse } from '../../infra/processes.ts';
import { projectRoot } from '../../infra/settings.ts';
import { freePortBlock } from '../helpers/ports.ts';

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
