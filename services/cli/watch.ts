// `hotstate watch`: keeps a topic equal to a whole-dataset file. Editors that truncate, write in pieces or
// replace by rename are handled by waiting until the file is stable and by refusing files that look half-written.
import { watch as chokidarWatch } from 'chokidar';
import type { HotstateProducer } from '../lib/producer/producer.ts';
import { syncDatasetFile, type SyncOptions, type SyncOutcome } from '../lib/watch/dataset-sync.ts';
import { exitCodes } from '../common/exit-codes.ts';
import type { Print } from './emit.ts';

export interface WatchOptions extends SyncOptions {
  readonly once: boolean;
  /** How long the file must stay unchanged before it is read. @defaultValue `300` */
  readonly settleMs: number;
}

function report(outcome: SyncOutcome, out: Print, err: Print): void {
  if (outcome.status === 'held-back') err(`${outcome.message}; rerun with --allow-mass-delete to send it`);
  else if (outcome.status === 'invalid') err(outcome.message);
  else out(outcome.message + (outcome.token ? ` (version token: ${outcome.token})` : ''));
}

export async function watchFile(
  producer: HotstateProducer,
  options: WatchOptions,
  out: Print,
  err: Print,
  stop: AbortSignal,
): Promise<number> {
  if (options.once) {
    const outcome = await syncDatasetFile(producer, options);
    report(outcome, out, err);
    return outcome.status === 'invalid'
      ? exitCodes.invalid
      : outcome.status === 'held-back'
        ? exitCodes.heldBack
        : exitCodes.ok;
  }
  let running: Promise<void> | undefined;
  let again = false;
  const sync = (): void => {
    if (running) {
      again = true; // one more pass after the current one, so the last change is never missed
      return;
    }
    running = syncDatasetFile(producer, options)
      .then((outcome) => {
        report(outcome, out, err);
      })
      .catch((error: unknown) => {
        err(`sync failed, will retry on the next change: ${(error as Error).message}`);
      })
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          sync();
        }
      });
  };
  const watcher = chokidarWatch(options.file, {
    awaitWriteFinish: { stabilityThreshold: options.settleMs, pollInterval: 50 },
    atomic: true,
  });
  watcher
    .on('add', sync)
    .on('change', sync)
    .on('unlink', () => {
      err(`${options.file}: removed; nothing emitted, waiting for it to come back`);
    });
  out(`watching ${options.file} for ${producer.topic}`);
  await new Promise<void>((resolve) => {
    stop.addEventListener(
      'abort',
      () => {
        resolve();
      },
      { once: true },
    );
  });
  await watcher.close();
  await running;
  return exitCodes.ok;
}
