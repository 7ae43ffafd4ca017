// The short chaos run (two leader kills on a 3-broker cluster of its own) as part of the test suite: it fails
// when any bar of the chaos suite is missed. `npm run chaos` is the long run. It reads the topic with kcat, the
// independent client of its verdicts: skipped outside CI where kcat is missing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../infra/settings.ts';
import { skipWithout } from '../helpers/tools.ts';

test(
  'chaos, short run: two leader kills, no acknowledged write lost, views equal to the topic',
  { timeout: 15 * 60_000, skip: skipWithout('kcat') },
  async (t) => {
    const args = ['--kills', '2', '--calm-ms', '5000', '--interval-ms', '14000', '--min-ops', '3000'];
    const child = spawn(
      process.execPath,
      ['--disable-warning=TimeoutNegativeWarning', join(projectRoot, 'test', 'chaos', 'chaos.ts'), ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    for (const line of out.trim().split('\n')) t.diagnostic(line);
    assert.equal(code, 0, `chaos run failed:\n${out}\n${err.split('\n').slice(-40).join('\n')}`);
  },
);
