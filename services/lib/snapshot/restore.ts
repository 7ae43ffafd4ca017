// Start a view from the newest usable snapshot in a folder instead of the topic's beginning. Each candidate is
// judged (verdict.ts) from its header first; a usable one is loaded into a fresh store, and a load that fails
// half-way (corrupt body) leaves the view as if nothing had been loaded. The first refusal that older files cannot
// fix (too old, topic changed) ends the search: the view replays in full and says why.
import { basename } from 'node:path';
import type { Logger } from '../logger.ts';
import type { BaseIndex } from '../store/base-index.ts';
import { loadSnapshotBase } from './base-loader.ts';
import { readSnapshotHeader, SnapshotFileError, snapshotVersion } from './format.ts';
import { listSnapshots, skippedSnapshotEntries } from './snapshot-dir.ts';
import { judgeSnapshot, type RestoreOutcome, type TopicNow } from './verdict.ts';

export interface SnapshotRestore {
  readonly outcome: RestoreOutcome | 'none';
  readonly file?: string;
  readonly reason?: string;
  /** When the restored snapshot's version was taken (epoch ms). */
  readonly createdAt?: number;
  readonly entries?: number;
  readonly seconds?: number;
  /** Folder entries passed over, each with why: not a snapshot to open (a link, a folder, a FIFO, a far-future
   *  name…) or a refused file (corrupt, unknown format) before the one used. */
  readonly skipped?: ReadonlyArray<{ readonly name: string; readonly reason: string }>;
}

/** What restoring needs of the view's data: start over at positions, and take one entry. */
export interface RestoreTarget {
  reset(positions: ReadonlyMap<number, number>): void;
  /** Makes the writer schemas usable (fetches them); throws when they cannot be had now. */
  prepare(schemaIds: readonly number[]): Promise<void>;
  /** Starts the data from the snapshot's entries (after reset to its positions). */
  loadBase(base: BaseIndex): void;
}

export async function restoreNewest(
  dir: string,
  topicNow: TopicNow,
  target: RestoreTarget,
  log: Logger,
  onOutcome: (outcome: RestoreOutcome) => void,
): Promise<SnapshotRestore & { positions?: Map<number, number> }> {
  const started = performance.now();
  const [candidates, skipped] = await Promise.all([
    listSnapshots(dir, topicNow.topic),
    skippedSnapshotEntries(dir, topicNow.topic),
  ]);
  for (const { name, reason } of skipped) log.warn({ file: name, dir, reason }, 'snapshot folder entry skipped');
  const passedOver = [...skipped];
  const result = (restore: SnapshotRestore): SnapshotRestore =>
    passedOver.length === 0 ? restore : { ...restore, skipped: passedOver };
  if (candidates.length === 0) return result({ outcome: 'none', reason: `no snapshot of ${topicNow.topic} in ${dir}` });
  let last: SnapshotRestore = { outcome: 'none' };
  for (const { file } of candidates) {
    try {
      const { header } = await readSnapshotHeader(file);
      const verdict = judgeSnapshot(header, topicNow);
      if (!verdict.usable) {
        onOutcome(verdict.outcome);
        log.warn(
          { file, outcome: verdict.outcome, reason: verdict.reason },
          'snapshot not used: replaying the topic in full',
        );
        return result({ outcome: verdict.outcome, file, reason: verdict.reason });
      }
      // The body is read and indexed on another thread (or was, since the process started) while the registry is
      // asked for the writer schemas.
      const loading = loadSnapshotBase(dir, topicNow.topic, file);
      loading.catch(() => undefined); // awaited below, unless the schemas cannot be had
      try {
        await target.prepare(header.schemaIds);
      } catch (error) {
        onOutcome('schemas-unavailable');
        const reason = `its writer schemas ${header.schemaIds.join(', ')} cannot be fetched now: ${(error as Error).message}`;
        log.warn({ file, reason }, 'snapshot not used: replaying the topic in full');
        return result({ outcome: 'schemas-unavailable', file, reason });
      }
      const positions = new Map(snapshotVersion(header).positions);
      target.reset(positions);
      target.loadBase((await loading).base);
      onOutcome('used');
      const seconds = (performance.now() - started) / 1000;
      log.info(
        { file, entries: header.entries, seconds, createdAt: new Date(header.createdAt).toISOString() },
        'view restored from a snapshot; fetching from its positions',
      );
      return {
        ...result({ outcome: 'used', file, createdAt: header.createdAt, entries: header.entries, seconds }),
        positions,
      };
    } catch (error) {
      if (!(error instanceof SnapshotFileError)) throw error;
      const outcome = error.problem === 'format' ? 'unknown-format' : 'corrupt';
      onOutcome(outcome);
      log.warn({ file, outcome, reason: error.message }, 'snapshot refused; trying an older one');
      last = { outcome, file, reason: error.message };
      passedOver.push({ name: basename(file), reason: `${outcome}: ${error.message}` });
      target.reset(new Map(topicNow.offsets.map((p) => [p.partition, p.start])));
    }
  }
  return result(last);
}
