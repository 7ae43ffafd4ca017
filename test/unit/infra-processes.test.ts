// Process ownership and start-up failure reporting, with real child processes (no broker needed).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isOurs, liveRecord, markerFor, startDetached, stop, waitUntilReady } from '../../infra/processes.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hotstate-proc-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

// `sh -c script <marker>` puts the marker into the command line as $0, like the -D flag of our JVMs.
const shell = (dir: string, name: string, script: string): ReturnType<typeof startDetached> =>
  startDetached(dir, name, 'sh', ['-c', script, markerFor(dir, name)], dir);

test('a process that dies during start-up is reported with the tail of its log', async (t) => {
  const dir = tempDir(t);
  const record = shell(dir, 'crasher', 'echo "fatal: port already bound"; exit 3');
  await assert.rejects(
    waitUntilReady(record, 'crasher', 10_000, () => Promise.resolve(false)),
    (error: Error) =>
      /crasher exited during start-up/.test(error.message) && /fatal: port already bound/.test(error.message),
  );
  assert.equal(liveRecord(dir, 'crasher'), undefined, 'stale pid file removed');
});

test('a process that never becomes ready times out with its log, and stop() ends it', async (t) => {
  const dir = tempDir(t);
  const record = shell(dir, 'sleeper', 'echo "still warming up"; trap "exit 0" TERM; while :; do sleep 0.1; done');
  await assert.rejects(
    waitUntilReady(record, 'sleeper', 600, () => Promise.resolve(false)),
    (error: Error) =>
      /sleeper was not ready after 600 ms/.test(error.message) && /still warming up/.test(error.message),
  );
  assert.ok(isOurs(record));
  assert.equal(await stop(dir, 'sleeper'), true);
  assert.equal(isOurs(record), false);
  assert.equal(await stop(dir, 'sleeper'), false, 'stopping twice is a no-op');
});

test('a pid that now belongs to another program is never treated as ours', (t) => {
  const dir = tempDir(t);
  const record = { name: 'x', pid: process.pid, marker: markerFor(dir, 'x'), logFile: '', startedAt: '' };
  assert.equal(isOurs(record), false);
});
