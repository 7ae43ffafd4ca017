// PostgreSQL for change data capture: zonky's binaries (from Maven Central), one cluster with `wal_level=logical`,
// trust authentication on loopback only. initdb and postgres refuse to run as root, so as root they run as `nobody`
// (setpriv), with the binaries copied into the infra folder (root's cache folder is not readable by nobody).
import { execFile } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { markerFor, startDetached, waitUntilReady, type ProcessRecord } from './processes.ts';
import type { InfraSettings } from './settings.ts';

const run = promisify(execFile);

export const postgresName = 'postgres';

const nobody = 65534;
const asRoot = (): boolean => process.getuid?.() === 0;
/** `command args` as the unprivileged user when we are root. */
const unprivileged = (command: string, args: string[]): [string, string[]] =>
  asRoot()
    ? ['setpriv', [`--reuid=${nobody}`, `--regid=${nobody}`, '--clear-groups', command, ...args]]
    : [command, args];

const home = (s: InfraSettings): string => join(s.dir, postgresName);
export const postgresDataDir = (s: InfraSettings): string => join(home(s), 'data');

/** The binaries to run: the cached ones, or (as root) a copy inside the infra folder that `nobody` may read. */
function binaries(s: InfraSettings, dist: string): string {
  if (!asRoot()) return dist;
  const copy = join(s.dir, `postgres-${s.postgresVersion}-binaries`);
  if (!existsSync(join(copy, '.complete'))) {
    cpSync(dist, copy, { recursive: true, verbatimSymlinks: true });
    writeFileSync(join(copy, '.complete'), '');
  }
  return copy;
}

/** Creates the cluster on first start; later starts reuse its data (a crash test restarts on the same WAL). */
export async function preparePostgres(s: InfraSettings, dist: string): Promise<string> {
  const bin = binaries(s, dist);
  const data = postgresDataDir(s);
  if (!existsSync(join(data, 'PG_VERSION'))) {
    mkdirSync(home(s), { recursive: true });
    if (asRoot()) chownSync(home(s), nobody, nobody);
    const [command, args] = unprivileged(join(bin, 'bin', 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    try {
      await run(command, args, { maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(
        `initdb failed for ${data}${asRoot() ? ' (run as nobody: every parent folder must be readable by others)' : ''}: ${(e.stderr ?? e.message).trim()}`,
        { cause: error },
      );
    }
  }
  return bin;
}

export function startPostgres(s: InfraSettings, bin: string): ProcessRecord {
  const [command, args] = unprivileged(join(bin, 'bin', 'postgres'), [
    '-D',
    postgresDataDir(s),
    '-p',
    String(s.postgresPort),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${home(s)}`,
    '-c',
    'wal_level=logical',
    '-c',
    'max_wal_senders=10',
    '-c',
    'max_replication_slots=10',
    '-c',
    'fsync=off', // a throwaway development database: kill -9 of postgres still recovers from its WAL
    '-c',
    `cluster_name=hotstate ${markerFor(s.dir, postgresName)}`, // our ownership marker on the command line
  ]);
  return startDetached(s.dir, postgresName, command, args, home(s));
}

export async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function waitForPostgres(s: InfraSettings, record: ProcessRecord, url: string): Promise<void> {
  await waitUntilReady(record, 'PostgreSQL', s.startTimeoutMs, () => postgresAnswers(url));
}
