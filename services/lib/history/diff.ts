// What changed between two versions of a dataset, key by key, and a digest of a version's content (keys and value
// bytes only, so a rollback that restores every value has the digest of its target although offsets differ).
import { createHash } from 'node:crypto';
import { entryHeaderBytes } from '../store/entry.ts';
import type { DatasetVersion } from './dataset-version.ts';

export interface VersionDiff {
  /** Keys in `to` only (sorted). */
  readonly added: string[];
  /** Keys in `from` only (sorted). */
  readonly removed: string[];
  /** Keys in both whose value bytes (writer schema id and Avro) differ (sorted). */
  readonly changed: string[];
  readonly unchanged: number;
}

/** The value bytes of a packed entry as a latin1 string: compared without copying them out. */
const valueOf = (entry: string): string => entry.slice(entryHeaderBytes);

export function diffVersions(from: Pick<DatasetVersion, 'entries'>, to: Pick<DatasetVersion, 'entries'>): VersionDiff {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  let unchanged = 0;
  for (const [key, entry] of to.entries) {
    const before = from.entries.get(key);
    if (before === undefined) added.push(key);
    else if (valueOf(before) !== valueOf(entry)) changed.push(key);
    else unchanged++;
  }
  for (const key of from.entries.keys()) if (!to.entries.has(key)) removed.push(key);
  return { added: added.sort(), removed: removed.sort(), changed: changed.sort(), unchanged };
}

/** sha256 over the sorted keys and their value bytes, each length-prefixed (no separator can be forged). */
export function contentDigest(version: Pick<DatasetVersion, 'entries'>): string {
  const hash = createHash('sha256');
  for (const key of [...version.entries.keys()].sort()) {
    const value = valueOf(version.entries.get(key) ?? '');
    hash.update(`${String(key.length)}:${key}${String(value.length)}:`, 'utf8').update(value, 'latin1');
  }
  return hash.digest('hex');
}
