// Loads a snapshot's body and index (readSnapshotBase) on a worker thread, so that this thread goes on meanwhile.
// A process can start loading a topic's newest snapshot first thing (preloadSnapshot, before it imports the rest of
// itself: loading the modules of a service takes about a second); a view's restore takes that load once its checks
// of the snapshot against the topic have passed, so nothing preloaded is used unchecked.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BaseIndex, type SealedIndex } from '../store/base-index.ts';
import { SnapshotFileError, type SnapshotHeader, type SnapshotProblem } from './format.ts';
import { listSnapshotsNow } from './snapshot-dir.ts';

export interface LoadedBase {
  readonly header: SnapshotHeader;
  readonly base: BaseIndex;
}

/** What the worker sends back (base-loader-worker.ts). */
export type LoaderMessage =
  | { readonly header: SnapshotHeader; readonly body: Uint8Array; readonly sealed: SealedIndex }
  | { readonly refused: { readonly problem: SnapshotProblem; readonly reason: string } }
  | { readonly failed: { readonly message: string; readonly code: string | undefined } };

// A sibling file: .ts when running from the sources, .js once built.
const workerFile = new URL(`./base-loader-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

interface Load {
  readonly result: Promise<LoadedBase>;
  readonly worker: Worker;
}

function startLoad(file: string): Load {
  const worker = new Worker(workerFile, { workerData: { file } });
  const result = new Promise<LoadedBase>((resolve, reject) => {
    worker.once('message', (message: LoaderMessage) => {
      if ('header' in message) {
        const body = Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength);
        resolve({ header: message.header, base: new BaseIndex(body, message.header.entries, message.sealed) });
      } else if ('refused' in message) {
        reject(new SnapshotFileError(message.refused.problem, file, message.refused.reason));
      } else {
        reject(Object.assign(new Error(`snapshot ${file}: ${message.failed.message}`), { code: message.failed.code }));
      }
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      reject(new Error(`snapshot ${file}: its loader stopped (exit code ${String(code)}) before it answered`));
    });
  });
  result.catch(() => undefined); // a preload nobody takes must not be an unhandled rejection
  return { result, worker };
}

const preloads = new Map<string, { readonly file: string; readonly load: Load }>();
const preloadKey = (dir: string, topic: string): string => `${dir}\u0000${topic}`;

/**
 * Starts loading the newest snapshot of `topic` in `dir` on another thread now, for a view of the topic started
 * later in this process with `snapshot: { dir }` (which also calls this when it starts). A view that does not use
 * the file (too old, topic changed...) drops the load; dropPreloads() drops what no view took.
 */
export function preloadSnapshot(dir: string, topic: string): void {
  const key = preloadKey(dir, topic);
  if (preloads.has(key)) return;
  let newest: string | undefined;
  try {
    // At once, not when the event loop next gets a turn: a process loading its modules may not give it one for a second.
    newest = listSnapshotsNow(dir, topic)[0]?.file;
  } catch {
    return; // an unreadable folder: the view's restore says so
  }
  if (newest === undefined) return;
  const load = startLoad(newest);
  load.worker.unref(); // a preload alone does not keep the process alive
  preloads.set(key, { file: newest, load });
}

/** The file a preload of the topic is loading, if one is waiting to be taken. */
export function preloadedFile(dir: string, topic: string): string | undefined {
  return preloads.get(preloadKey(dir, topic))?.file;
}

/** Loads `file` of `topic` in `dir` off this thread, taking the preload of it if there is one (only once). */
export function loadSnapshotBase(dir: string, topic: string, file: string): Promise<LoadedBase> {
  const key = preloadKey(dir, topic);
  const preload = preloads.get(key);
  preloads.delete(key);
  if (preload?.file === file) {
    preload.load.worker.ref();
    return preload.load.result;
  }
  void preload?.load.worker.terminate();
  return startLoad(file).result;
}

/** Drops preloads no view took (their workers stop, their memory is freed): of one topic, or all. */
export function dropPreloads(dir?: string, topic?: string): void {
  for (const [key, preload] of preloads) {
    if (dir !== undefined && topic !== undefined && key !== preloadKey(dir, topic)) continue;
    preloads.delete(key);
    void preload.load.worker.terminate();
  }
}
