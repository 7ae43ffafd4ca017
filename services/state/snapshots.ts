// The state service's snapshots: one file per dataset written every interval and on graceful shutdown, the newest
// few kept; the newest served to peers; and, for a new instance with none of its own, the newest fetched from a
// peer before the views start (the view then judges it like any other snapshot: too old or corrupt means replay).
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../lib/logger.ts';
import { readSnapshotHeader } from '../lib/snapshot/format.ts';
import { listSnapshots, pruneSnapshots, snapshotFileName, type SnapshotFile } from '../lib/snapshot/snapshot-dir.ts';
import type { HotstateView } from '../lib/view/view.ts';

export interface SnapshotSettings {
  readonly dir: string;
  readonly intervalMs: number;
  readonly keep: number;
}

export class SnapshotSchedule {
  private readonly views: ReadonlyMap<string, HotstateView>;
  private readonly settings: SnapshotSettings;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(views: ReadonlyMap<string, HotstateView>, settings: SnapshotSettings, log: Logger) {
    this.views = views;
    this.settings = settings;
    this.log = log.child({ component: 'snapshots' });
  }

  start(): void {
    this.timer = setInterval(() => {
      void this.writeAll();
    }, this.settings.intervalMs);
    this.timer.unref();
  }

  /** One snapshot per ready dataset, one dataset at a time (a second call waits for the first). */
  writeAll(): Promise<void> {
    this.writing = this.writing.then(async () => {
      await mkdir(this.settings.dir, { recursive: true });
      for (const [dataset, view] of this.views) {
        if (!view.status().ready) continue;
        try {
          await view.writeSnapshot(join(this.settings.dir, snapshotFileName(dataset, Date.now())));
          await pruneSnapshots(this.settings.dir, dataset, this.settings.keep);
        } catch (error) {
          this.log.error({ err: error, dataset }, 'writing a snapshot failed; the previous ones are kept');
        }
      }
    });
    return this.writing;
  }

  /** Stops the timer and writes a last snapshot of every ready dataset (graceful shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.writeAll();
  }

  async newest(dataset: string): Promise<SnapshotFile | undefined> {
    return (await listSnapshots(this.settings.dir, dataset))[0];
  }
}

/**
 * For each dataset without a snapshot in `dir`, downloads the newest one a peer serves (the first peer that has
 * one). A failed download leaves nothing behind; the view then replays in full.
 */
export async function fetchFromPeers(
  peers: readonly string[],
  datasets: readonly string[],
  dir: string,
  operatorToken: string | undefined,
  log: Logger,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const dataset of datasets) {
    if ((await listSnapshots(dir, dataset)).length > 0) continue;
    for (const peer of peers) {
      const temporary = join(dir, `${snapshotFileName(dataset, 0)}.tmp-peer-${String(process.pid)}`);
      try {
        const response = await fetch(`${peer.replace(/\/$/, '')}/v1/datasets/${encodeURIComponent(dataset)}/snapshot`, {
          headers: operatorToken === undefined ? {} : { authorization: `Bearer ${operatorToken}` },
          signal: AbortSignal.timeout(10 * 60_000),
        });
        if (!response.ok || !response.body) {
          log.warn({ peer, dataset, status: response.status }, 'peer has no snapshot to give');
          await response.body?.cancel();
          continue;
        }
        await pipeline(Readable.fromWeb(response.body), createWriteStream(temporary));
        const { header } = await readSnapshotHeader(temporary);
        await rename(temporary, join(dir, snapshotFileName(dataset, header.createdAt)));
        log.info(
          { peer, dataset, entries: header.entries, createdAt: new Date(header.createdAt).toISOString() },
          'snapshot fetched from a peer',
        );
        break;
      } catch (error) {
        await rm(temporary, { force: true });
        log.warn({ err: error, peer, dataset }, 'fetching a snapshot from a peer failed');
      }
    }
  }
}
