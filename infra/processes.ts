// Background processes the launcher owns. Each one has a JSON pid file; a process counts as ours only while its
// command line still carries our marker, so a recycled pid is never signalled.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessRecord {
  readonly name: string;
  readonly pid: number;
  readonly marker: string;
  readonly logFile: string;
  readonly startedAt: string;
}

export const markerFor = (dir: string, name: string): string => `-Dhotstate.infra=${join(dir, name)}`;
const pidFile = (dir: string, name: string): string => join(dir, 'run', `${name}.json`);
export const logFile = (dir: string, name: string): string => join(dir, 'logs', `${name}.log`);

export function readRecord(dir: string, name: string): ProcessRecord | undefined {
  const file = pidFile(dir, name);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ProcessRecord;
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string | undefined {
  try {
    return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return undefined; // ps exits non-zero when the pid does not exist
  }
}

export function isOurs(record: ProcessRecord): boolean {
  return commandLine(record.pid)?.includes(record.marker) ?? false;
}

/** The record of a live process of ours under this name, removing a stale pid file. */
export function liveRecord(dir: string, name: string): ProcessRecord | undefined {
  const record = readRecord(dir, name);
  if (record === undefined) return undefined;
  if (isOurs(record)) return record;
  rmSync(pidFile(dir, name), { force: true });
  return undefined;
}

export function startDetached(dir: string, name: string, command: string, args: string[], cwd: string): ProcessRecord {
  mkdirSync(join(dir, 'run'), { recursive: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const log = logFile(dir, name);
  const fd = openSync(log, 'w');
  const marker = markerFor(dir, name);
  if (!args.some((arg) => arg.includes(marker)))
    throw new Error(`internal: ${name} must be started with its marker ${marker}`);
  const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${command} did not spawn`);
  child.unref();
  const record: ProcessRecord = { name, pid: child.pid, marker, logFile: log, startedAt: new Date().toISOString() };
  writeFileSync(pidFile(dir, name), JSON.stringify(record, null, 2));
  return record;
}

/**
 * SIGTERM (or SIGKILL at once, as a crash would), then SIGKILL after the grace period; resolves once the process and
 * every process it started are gone. A SIGKILL goes to the whole process group (PostgreSQL's backends die with their
 * postmaster, as on a crashed host; left behind, they would hold its shared memory and refuse the restart).
 */
export async function stop(
  dir: string,
  name: string,
  graceMs = 30_000,
  first: 'SIGTERM' | 'SIGINT' | 'SIGKILL' = 'SIGTERM',
): Promise<boolean> {
  const record = liveRecord(dir, name);
  if (record === undefined) return false;
  const kill = (): void => {
    signal(-record.pid, 'SIGKILL'); // started detached: it leads its own process group
    signal(record.pid, 'SIGKILL');
  };
  if (first === 'SIGKILL') kill();
  else signal(record.pid, first);
  const deadline = Date.now() + graceMs;
  while (isOurs(record) || groupAlive(record.pid)) {
    if (Date.now() > deadline) {
      kill();
      await sleep(500);
      break;
    }
    await sleep(100);
  }
  rmSync(pidFile(dir, name), { force: true });
  return true;
}

/** True while any process of the group still runs (zombies included: PostgreSQL's lock file counts them). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export function tail(file: string, lines: number): string {
  if (!existsSync(file)) return `(no log at ${file})`;
  const all = readFileSync(file, 'utf8').split('\n');
  return all.slice(-lines - 1).join('\n');
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/** Polls `check` until it returns true; fails early when the process died, with the tail of its log. */
export async function waitUntilReady(
  record: ProcessRecord,
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isOurs(record)) {
      throw new Error(`${what} exited during start-up. Last lines of ${record.logFile}:\n${tail(record.logFile, 30)}`);
    }
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${what} was not ready after ${timeoutMs} ms. Last lines of ${record.logFile}:\n${tail(record.logFile, 30)}`,
      );
    }
    await sleep(250);
  }
}
