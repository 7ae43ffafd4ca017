// CLI commands that read a dataset through a view: get, dump, tail, sync.
import { SingleBar } from 'cli-progress';
import { formatProblem } from '../lib/errors.ts';
import type { DatasetFormat } from '../lib/input/dataset-file.ts';
import type { HotstateProducer } from '../lib/producer/producer.ts';
import { planSync, prepareDatasetFile } from '../lib/watch/dataset-sync.ts';
import { createView, type HotstateView, type Item } from '../lib/view/view.ts';
import { createLogger } from '../lib/logger.ts';
import type { KafkaConnection } from '../lib/transport/transport.ts';
import { probeRegistry, registryBaseUrl, type RegistryTarget } from '../lib/registry.ts';
import { waitingOn } from './waiting.ts';
import { stringifyJson } from '../lib/codec/json-values.ts';

/** The CLI's stdout carries data only: logs go to stderr, warnings and worse. */
export const cliLogger = createLogger({ name: 'hotstate-cli', level: 'warn', stderr: true });
import type { Print } from './emit.ts';
import { exitCodes } from '../common/exit-codes.ts';

export interface ViewTarget {
  readonly kafka: KafkaConnection;
  readonly registryUrl: RegistryTarget;
  readonly topic: string;
}

/** Opens a view and waits until it is ready, with a progress bar on a terminal. */
export async function readyView(target: ViewTarget, progress: boolean): Promise<HotstateView> {
  // A one-shot command does not wait for a registry that does not answer: it says so at once.
  waitingOn(`the schema registry ${registryBaseUrl(target.registryUrl)} to answer`);
  await probeRegistry(target.registryUrl);
  waitingOn(`Kafka (${target.kafka.brokers.join(',')}) to describe topic ${target.topic}`);
  const view = await createView({
    kafka: target.kafka,
    registryUrl: target.registryUrl,
    topic: target.topic,
    healthCheckIntervalMs: 60_000,
    logger: cliLogger,
  });
  const bar = progress
    ? new SingleBar({ stream: process.stderr, format: 'replay [{bar}] {percentage}% {value} records, ETA {eta}s' })
    : undefined;
  waitingOn(() => {
    const {
      state,
      reason,
      progress: { records },
    } = view.status();
    return `the view of ${target.topic} to become ready: it is ${state}${reason === undefined ? '' : ` (${reason})`}, ${String(records)} records read`;
  });
  bar?.start(100, 0);
  const timer = bar
    ? setInterval(() => {
        bar.update(Math.round(view.progress().share * 100), { value: view.progress().records });
      }, 200)
    : undefined;
  try {
    await view.ready;
  } catch (error) {
    await view.close(); // its Kafka clients would keep the process alive
    throw error;
  } finally {
    clearInterval(timer);
    bar?.stop();
  }
  return view;
}

const line = (item: Item): string =>
  stringifyJson({
    key: item.key,
    value: item.value,
    partition: item.partition,
    offset: item.offset,
    timestamp: item.timestamp,
    schemaId: item.schemaId,
  });

export function get(view: HotstateView, keys: string[], out: Print, err: Print): number {
  let missing = 0;
  for (const key of keys) {
    const item = view.get(key);
    if (item) out(line(item));
    else {
      err(`no key ${JSON.stringify(key)} in ${view.topic} at version ${view.token}`);
      missing++;
    }
  }
  return missing > 0 ? exitCodes.notFound : exitCodes.ok;
}

/** Every item of one version as NDJSON, then the version token on stderr. */
export function dump(view: HotstateView, prefix: string, out: Print, err: Print): number {
  const snapshot = view.snapshot();
  try {
    let count = 0;
    for (const item of snapshot.items({ prefix })) {
      out(line(item));
      count++;
    }
    err(`dumped ${String(count)} key(s) of ${view.topic} at version ${snapshot.token}`);
  } finally {
    snapshot.release();
  }
  return exitCodes.ok;
}

/** Prints changes as NDJSON until the signal aborts; says on stderr from which version it follows. */
export async function tail(
  view: HotstateView,
  prefix: string,
  out: Print,
  err: Print,
  stop: AbortSignal,
): Promise<number> {
  const unsubscribe = view.onChange(
    (change) => {
      out(
        stringifyJson({
          key: change.key,
          value: change.value ?? null,
          previous: change.previous ?? null,
          partition: change.partition,
          offset: change.offset,
          timestamp: change.timestamp,
        }),
      );
    },
    { prefix },
  );
  err(`tailing ${view.topic} after version ${view.token}`);
  await new Promise<void>((resolve) => {
    stop.addEventListener(
      'abort',
      () => {
        resolve();
      },
      { once: true },
    );
  });
  unsubscribe();
  return exitCodes.ok;
}

export interface SyncFileOptions {
  readonly file: string;
  readonly format: DatasetFormat;
  readonly keyField: string;
  readonly dryRun: boolean;
  readonly maxDeleteShare: number;
  readonly allowMassDelete: boolean;
}

/**
 * Reconciles a whole-dataset file with what the topic holds now (read through a view): upserts for keys whose
 * encoded value differs, tombstones for keys the file no longer has, nothing for the others.
 */
export async function syncFile(
  view: HotstateView,
  producer: HotstateProducer,
  options: SyncFileOptions,
  out: Print,
  err: Print,
): Promise<number> {
  const prepared = await prepareDatasetFile(producer, options.file, options.format, options.keyField);
  if (!prepared.ok) {
    for (const problem of prepared.problems) err(formatProblem(problem));
    err(prepared.problems.length > 0 ? `${prepared.message}; nothing sent` : prepared.message);
    return exitCodes.invalid;
  }
  const dataset = prepared.records;
  const {
    upserts: changed,
    deletedKeys: removed,
    heldBack,
  } = planSync(
    dataset,
    {
      size: view.size,
      keys: () => view.keys(),
      holds: (record) =>
        record.value === null
          ? !view.has(record.key)
          : record.value.equals(view.valueBytes(record.key) ?? Buffer.alloc(0)),
    },
    options,
  );
  const tombstones = producer.prepareAll(removed.map((key) => ({ key, value: null })));
  const unchanged = dataset.size - changed.length;
  for (const record of changed) out(`${options.dryRun ? 'would upsert' : 'upsert'} ${record.key}`);
  for (const key of removed) out(`${options.dryRun ? 'would delete' : 'delete'} ${key}`);
  const summary = `${String(changed.length)} upsert(s), ${String(removed.length)} delete(s), ${String(unchanged)} unchanged (topic at ${view.token})`;
  if (heldBack !== undefined) {
    err(`${options.file}: ${heldBack}; rerun with --allow-mass-delete to send it`);
    return exitCodes.heldBack;
  }
  if (options.dryRun) {
    out(`plan: ${summary}; dry run, nothing sent`);
    return exitCodes.ok;
  }
  const { token } = await producer.sendPrepared([...changed, ...tombstones]);
  out(`synced: ${summary}${changed.length + removed.length > 0 ? `; version token: ${token}` : ''}`);
  return exitCodes.ok;
}
