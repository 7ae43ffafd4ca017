// A folder of snapshot files: `<topic>.<createdAt ms>.snapshot`, newest first, the oldest pruned beyond a count.
import { readdirSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

const suffix = '.snapshot';

export const snapshotFileName = (topic: string, createdAt: number): string => `${topic}.${String(createdAt)}${suffix}`;

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
    .filter((name) => name.startsWith(prefix) && name.endsWith(suffix) && /^\d+$/.test(name.slice(prefix.length, -suffix.length)))
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
