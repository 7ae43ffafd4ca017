// Rolling a dataset back to an earlier version: compensating writes computed from the difference between now and
// the target (upserts of the target's values, tombstones for keys it did not have), never a rewrite of the log. The
// writes carry headers naming the rollback and its target, so history shows them and a rollback can be rolled back.
// Guards: a plan first, the mass-delete share of `sync`, explicit confirmation, and every restored value must be
// readable with the schema the dataset is written with now (reader-schema resolution).
import { randomUUID } from 'node:crypto';
import { ValidationError, type Problem } from '../errors.ts';
import { headerNames, type PreparedRecord } from '../producer/prepare.ts';
import type { HotstateProducer } from '../producer/producer.ts';
import type { Transport } from '../transport/transport.ts';
import { parseVersionToken } from '../version-token.ts';
import { entryPartition, entrySchemaId, entryValueBytes } from '../store/entry.ts';
import { WriterSchemas, type SchemaSource } from '../core/writer-schemas.ts';
import { valueSubject } from '../registry.ts';
import {
  loadDatasetVersion,
  readTopicNow,
  schemaIdsOf,
  tokenOfVersion,
  type DatasetVersion,
  type VersionRef,
} from './dataset-version.ts';
import { contentDigest, diffVersions } from './diff.ts';

export const rollbackHeaders = {
  id: 'hotstate-rollback-id',
  to: 'hotstate-rollback-to',
  from: 'hotstate-rollback-from',
} as const;

export interface RollbackOptions {
  /** Hold back a rollback deleting more than this share of the keys held now. @defaultValue `0.5` */
  readonly maxDeleteShare?: number;
  readonly allowMassDelete?: boolean;
  /** Write the compensating records; without it only the plan is made. @defaultValue `false` */
  readonly confirm?: boolean;
}

export interface RollbackPlan {
  readonly topic: string;
  /** The version rolled back from (the topic's end when the plan was made). */
  readonly from: string;
  /** The target version, and where its content came from (`topic` or a snapshot file). */
  readonly to: string;
  readonly toSource: string;
  /** Keys given back their target value: restored (deleted since) and reverted (changed since). */
  readonly restored: number;
  readonly reverted: number;
  /** Keys created since the target: deleted. */
  readonly deleted: number;
  readonly unchanged: number;
  readonly keysNow: number;
  readonly keysAtTarget: number;
  /** Content digest (diff.ts) of the target: the dataset's digest once the rollback is applied. */
  readonly targetDigest: string;
  /** Set when the plan deletes too large a share and was not allowed to. */
  readonly heldBack?: string;
}

export type RollbackStatus = 'planned' | 'held-back' | 'unchanged' | 'rolled-back';

export interface RollbackOutcome {
  readonly status: RollbackStatus;
  readonly plan: RollbackPlan;
  /** The version after the rollback's writes (every partition named). */
  readonly token?: string;
  readonly records?: number;
  readonly seconds?: number;
}

export interface RollbackTarget {
  readonly producer: HotstateProducer;
  /** Reads the topic (versions, the rollback window). */
  readonly transport: Transport;
  readonly schemaSource: SchemaSource;
}

export async function rollbackDataset(
  { producer, transport, schemaSource }: RollbackTarget,
  ref: VersionRef,
  options: RollbackOptions = {},
): Promise<RollbackOutcome> {
  const { topic } = producer;
  const started = performance.now();
  const schemas = new WriterSchemas(schemaSource, valueSubject(topic));
  const now = await readTopicNow(transport, topic);
  const target = await loadDatasetVersion(transport, schemas, topic, ref, now, { requireTopicId: true });
  const current = await loadDatasetVersion(transport, schemas, topic, { kind: 'now' }, now);
  const diff = diffVersions(current, target); // added: keys only the target has (restore); removed: created since (delete)
  const deleteShare = current.entries.size === 0 ? 0 : diff.removed.length / current.entries.size;
  const maxShare = options.maxDeleteShare ?? 0.5;
  const heldBack =
    deleteShare > maxShare && options.allowMassDelete !== true
      ? `this rollback would delete ${String(diff.removed.length)} of ${String(current.entries.size)} keys (${(deleteShare * 100).toFixed(0)}% > ${(maxShare * 100).toFixed(0)}%); nothing written (allow it explicitly to go on)`
      : undefined;
  const plan: RollbackPlan = {
    topic,
    from: tokenOfVersion(current),
    to: tokenOfVersion(target),
    toSource: target.source,
    restored: diff.added.length,
    reverted: diff.changed.length,
    deleted: diff.removed.length,
    unchanged: diff.unchanged,
    keysNow: current.entries.size,
    keysAtTarget: target.entries.size,
    targetDigest: contentDigest(target),
    ...(heldBack === undefined ? {} : { heldBack }),
  };
  const upsertKeys = [...diff.added, ...diff.changed];
  await assertReadableNow(producer, schemaSource, target, upsertKeys);
  if (heldBack !== undefined) return { status: 'held-back', plan };
  if (upsertKeys.length === 0 && diff.removed.length === 0) return { status: 'unchanged', plan, token: plan.from };
  if (options.confirm !== true) return { status: 'planned', plan };

  const headers = {
    [headerNames.source]: 'rollback',
    [rollbackHeaders.id]: randomUUID(),
    [rollbackHeaders.to]: plan.to,
    [rollbackHeaders.from]: plan.from,
  };
  const record = (key: string, value: Buffer | null, partition: number): PreparedRecord => ({
    key,
    keyBytes: Buffer.from(key, 'utf8'),
    value,
    partition,
    headers,
  });
  // A key stays in the partition that holds it now (or held it then), whatever partitioner wrote it.
  const records = [
    ...upsertKeys.map((key) => {
      const entry = target.entries.get(key) ?? '';
      const holder = current.entries.get(key) ?? entry;
      return record(key, entryValueBytes(entry), entryPartition(holder));
    }),
    ...diff.removed.map((key) => record(key, null, entryPartition(current.entries.get(key) ?? ''))),
  ];
  const positions = new Map(current.positions);
  for (const chunk of requestSized(records)) {
    const { token } = await producer.sendPrepared(chunk);
    for (const [partition, next] of parseVersionToken(token).positions)
      positions.set(partition, Math.max(next, positions.get(partition) ?? 0));
  }
  return {
    status: 'rolled-back',
    plan,
    token: tokenOfVersion({ topic, topicId: now.layout.topicId, positions }),
    records: records.length,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Chunks far below a broker's max.message.bytes per partition (the headers alone are a few hundred bytes a record). */
function* requestSized(
  records: readonly PreparedRecord[],
  maxBytes = 256 * 1024,
  maxRecords = 2000,
): Generator<PreparedRecord[]> {
  let chunk: PreparedRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size =
      record.keyBytes.length +
      (record.value?.length ?? 0) +
      Object.entries(record.headers).reduce((n, [k, v]) => n + k.length + v.length, 0);
    if (chunk.length > 0 && (bytes + size > maxBytes || chunk.length >= maxRecords)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(record);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

/** Every value to restore must resolve to the schema the dataset is written with now; else nothing is written. */
async function assertReadableNow(
  producer: HotstateProducer,
  source: SchemaSource,
  target: DatasetVersion,
  keys: readonly string[],
): Promise<void> {
  const readers = new WriterSchemas(source, valueSubject(target.topic), producer.schemaType);
  const entries = keys.map((key) => [key, target.entries.get(key) ?? ''] as const);
  await readers.settle(schemaIdsOf(entries.map(([, entry]) => entry)));
  const problems: Problem[] = [];
  for (const [key, entry] of entries) {
    const id = entrySchemaId(entry);
    const verdict = readers.verdict(id);
    try {
      if (!verdict?.ok) throw new Error(verdict?.detail ?? `writer schema ${String(id)} unknown`);
      readers.decode(id, entryValueBytes(entry));
    } catch (error) {
      problems.push({
        kind: 'value',
        key,
        path: '',
        reason: `its value at the target (writer schema ${String(id)}) cannot be read with the current schema ${String(producer.schemaId)}: ${(error as Error).message}`,
      });
    }
    if (problems.length >= 100) break;
  }
  if (problems.length > 0)
    throw new ValidationError('HOTSTATE_ERR_VALIDATION_VALUE', problems, `rollback of ${target.topic}`);
}
