// A view's snapshot files: preloading and restoring the newest usable one at start, writing one of a consistent
// version, and what status() and the metrics say about both.
import { stat } from 'node:fs/promises';
import type { Logger } from '../logger.ts';
import type { ViewMetrics } from '../metrics.ts';
import type { ViewSnapshot } from '../store/view-snapshot.ts';
import type { WriterSchemas } from '../core/writer-schemas.ts';
import { dropPreloads, preloadedFile, preloadSnapshot } from './base-loader.ts';
import { readSnapshotHeader, writeSnapshotFile, type SnapshotHeader } from './format.ts';
import { snapshotTarget } from './snapshot-dir.ts';
import { restoreNewest, type RestoreTarget, type SnapshotRestore } from './restore.ts';
import type { TopicNow } from './verdict.ts';

export interface WrittenSnapshot {
  readonly file: string;
  readonly header: SnapshotHeader;
  readonly bytes: number;
  readonly seconds: number;
}

export interface SnapshotStatus {
  /** What happened at start: used (with the file and its age), or why the view replayed in full. */
  readonly restore: SnapshotRestore | undefined;
  readonly lastWritten:
    { readonly file: string; readonly createdAt: number; readonly entries: number; readonly bytes: number } | undefined;
}

export class ViewSnapshotFiles {
  private readonly topic: string;
  private readonly metrics: ViewMetrics | undefined;
  private readonly log: Logger;
  private restored: SnapshotRestore | undefined;
  private lastWritten: SnapshotStatus['lastWritten'];
  /** The preloaded snapshot's writer schemas, being fetched since preload(). */
  private preloadSchemas: Promise<void> | undefined;

  constructor(topic: string, metrics: ViewMetrics | undefined, log: Logger) {
    this.topic = topic;
    this.metrics = metrics;
    this.log = log;
  }

  /**
   * Starts reading and indexing the newest snapshot in `dir` on another thread, and fetching its writer schemas,
   * while the view asks Kafka about the topic; restore() then judges it. endPreload() drops it if not taken.
   */
  preload(dir: string, schemas: WriterSchemas): void {
    preloadSnapshot(dir, this.topic);
    const file = preloadedFile(dir, this.topic); // the newest, found by the preload just started
    this.preloadSchemas =
      file === undefined
        ? undefined
        : readSnapshotHeader(file)
            .then(({ header }) => schemas.settle(header.schemaIds))
            .catch(() => {
              // the restore reads the header again and says what is wrong
            });
  }

  endPreload(dir: string): void {
    dropPreloads(dir, this.topic);
  }

  /** Loads the newest usable snapshot into `target`; its positions, or undefined for a full replay. */
  async restore(
    dir: string,
    topicNow: TopicNow,
    target: RestoreTarget,
  ): Promise<{ positions: Map<number, number>; createdAt: number } | undefined> {
    const afterPreload: RestoreTarget = {
      ...target,
      prepare: async (ids) => {
        await this.preloadSchemas;
        await target.prepare(ids);
      },
    };
    const result = await restoreNewest(dir, topicNow, afterPreload, this.log, (outcome) => {
      this.metrics?.snapshotRestores.inc({ topic: this.topic, outcome });
    });
    const { positions, ...restore } = result;
    this.restored = restore;
    if (result.outcome === 'none') this.log.info({ dir }, 'no snapshot to start from: replaying the topic in full');
    return positions && restore.createdAt !== undefined ? { positions, createdAt: restore.createdAt } : undefined;
  }

  /**
   * Writes the snapshot's version (in the background of the event loop) and releases it. `path` is a folder (the
   * file gets the name a restore reads) or a file of that name (snapshot-dir.ts).
   */
  async write(path: string, snapshot: ViewSnapshot, topicId: string): Promise<WrittenSnapshot> {
    const started = performance.now();
    try {
      const file = snapshotTarget(path, this.topic, Date.now());
      const header = await writeSnapshotFile(
        file,
        { topic: this.topic, topicId, positions: snapshot.version.positions, createdAt: Date.now() },
        snapshot.entries(),
      );
      const { size } = await stat(file);
      const seconds = (performance.now() - started) / 1000;
      this.lastWritten = { file, createdAt: header.createdAt, entries: header.entries, bytes: size };
      this.metrics?.snapshotBytes.set({ topic: this.topic }, size);
      this.metrics?.snapshotWriteSeconds.observe({ topic: this.topic }, seconds);
      this.log.info({ file, entries: header.entries, bytes: size, seconds }, 'snapshot written');
      return { file, header, bytes: size, seconds };
    } finally {
      snapshot.release();
    }
  }

  /** Age of the newest snapshot written or restored, for the gauge (called every second). */
  tick(): void {
    const newest = Math.max(
      this.lastWritten?.createdAt ?? 0,
      this.restored?.outcome === 'used' ? (this.restored.createdAt ?? 0) : 0,
    );
    if (newest > 0) this.metrics?.snapshotAge.set({ topic: this.topic }, (Date.now() - newest) / 1000);
  }

  status(): SnapshotStatus {
    return { restore: this.restored, lastWritten: this.lastWritten };
  }
}
