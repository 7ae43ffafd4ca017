// A folder of snapshot files: `<topic>.<createdAt ms>.snapshot`, newest first, the oldest pruned beyond a count.
// Only regular files count (no links, folders, FIFOs or devices), and none named after a time beyond this machine's
// clock plus a small skew: such entries are skipped (skippedSnapshotEntries says which and why), never opened.
import { readdirSync, statSync, type Dirent } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { HotstateError } from '../errors.ts';
import { clockSkewMs } from './format.ts';

const suffix = '.snapshot';

export const snapshotFileName = (topic: string, createdAt: number): string => `${topic}.${String(createdAt)}${suffix}`;

/** True when `name` is `<topic>.<ms>.snapshot`, the only names a restore from a folder reads. */
export const isSnapshotName = (name: string, topic: string): boolean => {
  const prefix = `${topic}.`;
  return name.startsWith(prefix) && name.endsWith(suffix) && /^\d+$/.test(name.slice(prefix.length, -suffix.length));
};

/**
 * Where a snapshot of `topic` asked for at `path` goes: into an existing folder under the name a restore finds, or
 * at `path` when it already has that name. Any other name is refused: a restore from the folder would skip it.
 */
export function snapshotTarget(path: string, topic: string, createdAt: number): string {
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory() === true)
    return join(path, snapshotFileName(topic, createdAt));
  if (isSnapshotName(basename(path), topic)) return path;
  throw new HotstateError(
    'HOTSTATE_ERR_CONFIG_INVALID',
    `snapshot file name ${JSON.stringify(basename(path))} would be skipped by a restore, which reads only <topic>.<created ms>.snapshot names: pass a folder (the file is named ${snapshotFileName(topic, createdAt)} in it) or such a name`,
  );
}

/**
 * `.snapshot` entries in `dir` that no restore reads, with the reason (to warn about): names not
 * `<some topic>.<ms>.snapshot`, and this topic's entries that are not regular files or are named in the future.
 */
export async function skippedSnapshotEntries(
  dir: string,
  topic: string,
): Promise<Array<{ name: string; reason: string }>> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const skipped: Array<{ name: string; reason: string }> = [];
  for (const entry of entries) {
    if (!entry.name.endsWith(suffix)) continue;
    if (!/^.+\.\d+\.snapshot$/.test(entry.name))
      skipped.push({
        name: entry.name,
        reason: 'a restore reads only <topic>.<created ms>.snapshot names (rename it to use it)',
      });
    else if (isSnapshotName(entry.name, topic)) {
      const reason = unusableEntry(entry, topic, Date.now());
      if (reason !== undefined) skipped.push({ name: entry.name, reason });
    }
  }
  return skipped;
}

/** Why a `<topic>.<ms>.snapshot` entry is not read, or undefined when it is a candidate. */
function unusableEntry(entry: Dirent, topic: string, now: number): string | undefined {
  if (!entry.isFile()) return 'not a regular file (a link, folder, FIFO or device): snapshots are read only as files';
  if (createdAtOf(entry.name, topic) > now + clockSkewMs)
    return "named after a time in this machine's future: not trusted (it would sort first forever)";
  return undefined;
}

const createdAtOf = (name: string, topic: string): number => Number(name.slice(topic.length + 1, -suffix.length));

export interface SnapshotFile {
  readonly file: string;
  readonly createdAt: number;
}

/** This topic's snapshot files in `dir`, newest first (by the time in their names); none when `dir` is missing. */
export async function listSnapshots(dir: string, topic: string): Promise<SnapshotFile[]> {
  try {
    return snapshotsAmong(await readdir(dir, { withFileTypes: true }), dir, topic);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** listSnapshots without waiting for the event loop (for a process that starts to load one before it is busy). */
export function listSnapshotsNow(dir: string, topic: string): SnapshotFile[] {
  try {
    return snapshotsAmong(readdirSync(dir, { withFileTypes: true }), dir, topic);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function snapshotsAmong(entries: readonly Dirent[], dir: string, topic: string): SnapshotFile[] {
  const now = Date.now();
  return entries
    .filter((entry) => isSnapshotName(entry.name, topic) && unusableEntry(entry, topic, now) === undefined)
    .map((entry) => ({ file: join(dir, entry.name), createdAt: createdAtOf(entry.name, topic) }))
    .sort((a, b) => b.createdAt - a.createdAt);
}

/** Deletes all but the newest `keep` snapshots of the topic, and temporary files left by an interrupted write. */
export async function pruneSnapshots(dir: string, topic: string, keep: number): Promise<void> {
  for (const { file } of (await listSnapshots(dir, topic)).slice(keep)) await rm(file, { force: true });
  for (const name of await readdir(dir)) {
    if (!name.startsWith(`${topic}.`) || !name.includes(`${suffix}.tmp-`)) continue;
    const file = join(dir, name);
    // Another writer's file in progress is young; one left by a crash is not. Only our own (regular) files go.
    const info = await lstat(file).catch(() => undefined);
    if (info?.isFile() === true && Date.now() - info.mtimeMs > 60 * 60_000) await rm(file, { force: true });
  }
}
