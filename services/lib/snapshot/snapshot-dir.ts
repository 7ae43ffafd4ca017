// A folder of snapshot files: `<topic>.<createdAt ms>.snapshot`, newest first, the oldest pruned beyond a count.
import { readdirSync, statSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { HotstateError } from '../errors.ts';

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

/** `.snapshot` files in `dir` that no restore reads (not `<some topic>.<ms>.snapshot`): to be warned about. */
export async function unreadSnapshotNames(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => name.endsWith(suffix) && !/^.+\.\d+\.snapshot$/.test(name));
  } catch {
    return [];
  }
}

export interface SnapshotFile {
  readonly file: string;
  readonly createdAt: number;
}

/** This topic's snapshot files in `dir`, newest first (by the time in their names); none when `dir` is missing. */
export async function listSnapshots(dir: string, topic: string): Promise<SnapshotFile[]> {
  try {
    return snapshotsAmong(await readdir(dir), dir, topic);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** listSnapshots without waiting for the event loop (for a process that starts to load one before it is busy). */
export function listSnapshotsNow(dir: string, topic: string): SnapshotFile[] {
  try {
    return snapshotsAmong(readdirSync(dir), dir, topic);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function snapshotsAmong(names: readonly string[], dir: string, topic: string): SnapshotFile[] {
  const prefix = `${topic}.`;
  return names
    .filter((name) => isSnapshotName(name, topic))
    .map((name) => ({ file: join(dir, name), createdAt: Number(name.slice(prefix.length, -suffix.length)) }))
    .sort((a, b) => b.createdAt - a.createdAt);
}

/** Deletes all but the newest `keep` snapshots of the topic, and temporary files left by an interrupted write. */
export async function pruneSnapshots(dir: string, topic: string, keep: number): Promise<void> {
  for (const { file } of (await listSnapshots(dir, topic)).slice(keep)) await rm(file, { force: true });
  for (const name of await readdir(dir)) {
    if (!name.startsWith(`${topic}.`) || !name.includes(`${suffix}.tmp-`)) continue;
    const file = join(dir, name);
    // Another writer's file in progress is young; one left by a crash is not.
    if (Date.now() - (await stat(file)).mtimeMs > 60 * 60_000) await rm(file, { force: true });
  }
}
