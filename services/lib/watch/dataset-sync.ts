// One synchronisation of a whole-dataset file with its topic: emit only keys whose encoded value changed since
// the last successful sync, and tombstones for keys that disappeared. What was emitted is remembered in a state
// file (written atomically after Kafka acknowledged), so a restart resumes without re-emitting unchanged keys.
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { formatProblem, isHotstateError, type Problem } from '../errors.ts';
import { parseDatasetFile, type DatasetFormat } from '../input/dataset-file.ts';
import type { HotstateProducer } from '../producer/producer.ts';
import type { PreparedRecord } from '../producer/prepare.ts';

export interface SyncOptions {
  readonly file: string;
  readonly format: DatasetFormat;
  /** @defaultValue `key` */
  readonly keyField?: string;
  /** Where the digests of emitted values are kept. */
  readonly stateFile: string;
  /** A change deleting more than this share of the known keys is held back. @defaultValue `0.5` */
  readonly maxDeleteShare?: number;
  /** Emit such a change anyway. @defaultValue `false` */
  readonly allowMassDelete?: boolean;
}

export type SyncStatus = 'emitted' | 'unchanged' | 'invalid' | 'held-back';

export interface SyncOutcome {
  readonly status: SyncStatus;
  readonly upserts: number;
  readonly deletes: number;
  readonly message: string;
  readonly token?: string;
}

interface SyncState {
  readonly topic: string;
  readonly digests: Record<string, string>;
}

const digest = (value: Buffer): string => createHash('sha256').update(value).digest('base64url').slice(0, 22);

async function loadState(file: string, topic: string): Promise<Map<string, string>> {
  try {
    const state = JSON.parse(await readFile(file, 'utf8')) as SyncState;
    return state.topic === topic ? new Map(Object.entries(state.digests)) : new Map();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
}

async function saveState(file: string, topic: string, digests: Map<string, string>): Promise<void> {
  const temporary = `${file}.${String(process.pid)}.tmp`;
  await writeFile(temporary, JSON.stringify({ topic, digests: Object.fromEntries(digests) } satisfies SyncState));
  await rename(temporary, file); // atomic: a crash leaves the old state or the new one, never half of one
}

export type PreparedDataset =
  | { readonly ok: true; readonly records: Map<string, PreparedRecord> }
  | { readonly ok: false; readonly message: string; readonly problems: readonly Problem[] };

/** Reads a whole-dataset file and prepares every record as it would be sent; a file that cannot be read or parsed,
 *  or any invalid record, makes the whole file invalid. */
export async function prepareDatasetFile(
  producer: HotstateProducer,
  file: string,
  format: DatasetFormat,
  keyField?: string,
): Promise<PreparedDataset> {
  let dataset: Map<string, unknown>;
  try {
    dataset = parseDatasetFile(file, await readFile(file), {
      format,
      type: producer.schemaType,
      ...(keyField ? { keyField } : {}),
    });
  } catch (error) {
    if (isHotstateError(error) || (error as NodeJS.ErrnoException).code !== undefined)
      return { ok: false, message: (error as Error).message, problems: [] };
    throw error;
  }
  const problems: Problem[] = [];
  const records = new Map<string, PreparedRecord>();
  for (const [key, value] of dataset) {
    const prepared = producer.prepare({ key, value });
    if (prepared.ok) records.set(key, prepared.record);
    else problems.push(...prepared.problems);
  }
  return problems.length > 0
    ? { ok: false, message: `${file}: ${String(problems.length)} problem(s)`, problems }
    : { ok: true, records };
}

/** What the topic is known to hold: the digests `watch` remembers, or a view that `sync` reads. */
export interface SyncBaseline {
  readonly size: number;
  keys(): Iterable<string>;
  /** True when the topic already holds exactly this record's value. */
  holds(record: PreparedRecord): boolean;
}

export interface SyncPlan {
  readonly upserts: PreparedRecord[];
  readonly deletedKeys: string[];
  /** Set when the plan deletes too large a share of the keys and was not allowed to: send nothing. */
  readonly heldBack: string | undefined;
}

/**
 * The one reconciliation `watch` and `sync` share: upserts for records whose value the topic does not hold,
 * tombstones for keys the file no longer has, and the mass-delete guard — a change deleting more than
 * `maxDeleteShare` of the keys (default half) is held back unless allowed, because a truncated or wrong file looks
 * exactly like that.
 */
export function planSync(
  records: ReadonlyMap<string, PreparedRecord>,
  baseline: SyncBaseline,
  options: { readonly maxDeleteShare?: number; readonly allowMassDelete?: boolean },
): SyncPlan {
  const upserts = [...records.values()].filter((record) => !baseline.holds(record));
  const deletedKeys = [...baseline.keys()].filter((key) => !records.has(key));
  const share = baseline.size === 0 ? 0 : deletedKeys.length / baseline.size;
  const maxShare = options.maxDeleteShare ?? 0.5;
  const heldBack =
    share <= maxShare || options.allowMassDelete === true
      ? undefined
      : `this change would delete ${String(deletedKeys.length)} of ${String(baseline.size)} keys (${(share * 100).toFixed(0)}% > ${(maxShare * 100).toFixed(0)}%); nothing emitted (allowMassDelete permits it)`;
  return { upserts, deletedKeys, heldBack };
}

export async function syncDatasetFile(producer: HotstateProducer, options: SyncOptions): Promise<SyncOutcome> {
  const none = { upserts: 0, deletes: 0 };
  const prepared = await prepareDatasetFile(producer, options.file, options.format, options.keyField);
  if (!prepared.ok) {
    const details =
      prepared.problems.length > 0
        ? `, nothing emitted:\n  ${prepared.problems.slice(0, 20).map(formatProblem).join('\n  ')}`
        : '';
    return { status: 'invalid', ...none, message: `${prepared.message}${details}` };
  }
  const current = prepared.records;

  const known = await loadState(options.stateFile, producer.topic);
  const { upserts, deletedKeys, heldBack } = planSync(
    current,
    {
      size: known.size,
      keys: () => known.keys(),
      holds: (record) =>
        record.value === null ? !known.has(record.key) : known.get(record.key) === digest(record.value),
    },
    options,
  );
  if (heldBack !== undefined) return { status: 'held-back', ...none, message: `${options.file}: ${heldBack}` };
  if (upserts.length === 0 && deletedKeys.length === 0)
    return { status: 'unchanged', ...none, message: `${options.file}: no change` };

  const tombstones = producer.prepareAll(deletedKeys.map((key) => ({ key, value: null })));
  const { token } = await producer.sendPrepared([...upserts, ...tombstones]);
  for (const r of upserts) {
    if (r.value) known.set(r.key, digest(r.value));
    else known.delete(r.key);
  }
  for (const key of deletedKeys) known.delete(key);
  await saveState(options.stateFile, producer.topic, known);
  return {
    status: 'emitted',
    upserts: upserts.length,
    deletes: deletedKeys.length,
    token,
    message: `${options.file}: emitted ${String(upserts.length)} upsert(s), ${String(deletedKeys.length)} delete(s)`,
  };
}
