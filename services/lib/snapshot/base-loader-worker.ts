// Reads, checks and indexes one snapshot file (readSnapshotBase) on a worker thread, then moves the body and the
// index's arrays to the thread that asked (transferred, not copied). A refusal travels as its problem and reason.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { SnapshotFileError } from './format.ts';
import { readSnapshotBase } from './read-in-place.ts';
import type { LoaderMessage } from './base-loader.ts';

const { file } = workerData as { file: string };
// The process's main thread is usually busy starting (loading its modules) meanwhile: it gets the CPU first, this
// thread what is left (the niceness of this thread alone, where /proc/thread-self names it: Linux).
try {
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), 10);
} catch {
  // another system: same priority as the rest
}
let message: LoaderMessage;
let moved: ArrayBuffer[] = [];
try {
  const { header, base } = await readSnapshotBase(file);
  const { body, sealed } = base.handOver();
  message = { header, body, sealed };
  moved = [body.buffer, sealed.keyAt.buffer, sealed.table.buffer] as ArrayBuffer[];
} catch (error) {
  message =
    error instanceof SnapshotFileError
      ? { refused: { problem: error.problem, reason: error.reason } }
      : { failed: { message: (error as Error).message, code: (error as NodeJS.ErrnoException).code } };
}
parentPort?.postMessage(message, moved);
