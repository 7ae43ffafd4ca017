// A view's snapshot files: restoring from the newest usable one at start, writing one of a consistent version,
// and what status() and the metrics say about both.
import { stat } from 'node:fs/promises';
import type { Logger } from '../logger.ts';
import type { ViewMetrics } from '../metrics.ts';
import type { ViewSnapshot } from '../view/view-snapshot.ts';
import { writeSnapshotFile, type SnapshotHeader } from './format.ts';
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
  readonly lastWritten: { readonly file: string; readonly createdAt: number; readonly entries: number; readonly bytes: number } | undefined;
}

export class ViewSnapshotFiles {
  private readonly topic: string;
  private readonly metrics: ViewMetrics | undefined;
  private readonly log: Logger;
  private restored: SnapshotRestore | undefined;
  private lastWritten: SnapshotStatus['lastWritten'];

  constructor(topic: string, metrics: ViewMetrics | undefined, log: Logger) {
    this.topic = topic;
    this.metrics = metrics;
    this.log = log;
  }

  /** Loads the newest usable snapshot into `target`; its positions, or undefined for a full replay. */
  async restore(dir: string, topicNow: TopicNow, target: RestoreTarget): Promise<{ positions: Map<number, number>; createdAt: number } | undefined> {
    const result = await restoreNewest(dir, topicNow, target, this.log, (outcome) => { this.metrics?.snapshotRestores.inc({ topic: this.topic, outcome }); });
    const { positions, ...restore } = result;
    this.restored = restore;
    if (result.outcome === 'none') this.log.info({ dir }, 'no snapshot to start from: replaying the topic in full');
    return positions && restore.createdAt !== undefined ? { positions, createdAt: restore.createdAt } : undefined;
  }

  /** Writes the snapshot's version to `file` (in the background of the event loop) and releases it. */
  async write(file: string, snapshot: ViewSnapshot, topicId: string): Promise<WrittenSnapshot> {
    const started = performance.now();
    try {
      const header = await writeSnapshotFile(file, { topic: this.topic, topicId, positions: snapshot.version.positions, createdAt: Date.now() }, snapshot.entries());
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
    const newest = Math.max(this.lastWritten?.createdAt ?? 0, this.restored?.outcome === 'used' ? this.restored.createdAt ?? 0 : 0);
    if (newest > 0) this.metrics?.snapshotAge.set({ topic: this.topic }, (Date.now() - newest) / 1000);
  }

  status(): SnapshotStatus {
    return { restore: this.restored, lastWritten: this.lastWritten };
  }
}
