// State service entry point. Loading the service's modules takes about a second; meanwhile each dataset's newest
// snapshot in HOTSTATE_SNAPSHOT_DIR is read, checked and indexed on another thread, so that a restart from a
// snapshot is not that second plus the load. service.ts validates the settings and starts the service; a view uses
// a preloaded snapshot only once its checks against the topic pass (snapshot/restore.ts).
import { preloadSnapshot } from '../lib/snapshot/base-loader.ts';

const snapshotDir = process.env.HOTSTATE_SNAPSHOT_DIR;
if (snapshotDir) {
  for (const dataset of (process.env.HOTSTATE_DATASETS ?? '').split(','))
    if (dataset.trim() !== '') preloadSnapshot(snapshotDir, dataset.trim());
}
await import('./service.ts');
