// `hotstate diff` and `hotstate rollback`: versions of a dataset compared key by key, and compensating writes back
// to one of them.
import { stringifyJson } from '../lib/codec/json-values.ts';
import {
  loadDatasetVersion,
  readTopicNow,
  tokenOfVersion,
  type DatasetVersion,
  type VersionRef,
} from '../lib/history/dataset-version.ts';
import { contentDigest, diffVersions } from '../lib/history/diff.ts';
import {
  rollbackDataset,
  type RollbackOptions,
  type RollbackOutcome,
  type RollbackTarget,
} from '../lib/history/rollback.ts';
import { valueSubject } from '../lib/registry.ts';
import type { Transport } from '../lib/transport/transport.ts';
import { entrySchemaId, entryValueBytes } from '../lib/store/entry.ts';
import { WriterSchemas, type SchemaSource } from '../lib/core/writer-schemas.ts';
import type { Print } from './emit.ts';
import { exitCodes } from '../common/exit-codes.ts';

/** Prints one NDJSON line per added, changed and removed key (sorted by key), then a summary on `err`. */
export async function diffCommand(
  transport: Transport,
  source: SchemaSource,
  topic: string,
  from: VersionRef,
  to: VersionRef,
  out: Print,
  err: Print,
): Promise<number> {
  const schemas = new WriterSchemas(source, valueSubject(topic));
  const now = await readTopicNow(transport, topic);
  const before = await loadDatasetVersion(transport, schemas, topic, from, now);
  const after = await loadDatasetVersion(transport, schemas, topic, to, now);
  const decode = (version: DatasetVersion, key: string): unknown => {
    const entry = version.entries.get(key) ?? '';
    return schemas.decode(entrySchemaId(entry), entryValueBytes(entry));
  };
  const diff = diffVersions(before, after);
  const lines: Array<[string, string]> = [
    ...diff.added.map(
      (key) => [key, stringifyJson({ op: 'added', key, value: decode(after, key) })] as [string, string],
    ),
    ...diff.changed.map(
      (key) =>
        [key, stringifyJson({ op: 'changed', key, previous: decode(before, key), value: decode(after, key) })] as [
          string,
          string,
        ],
    ),
    ...diff.removed.map(
      (key) => [key, stringifyJson({ op: 'removed', key, previous: decode(before, key) })] as [string, string],
    ),
  ];
  for (const [, line] of lines.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out(line);
  err(
    `diff ${topic} ${tokenOfVersion(before)} (${before.source}) -> ${tokenOfVersion(after)} (${after.source}): ${String(diff.added.length)} added, ${String(diff.changed.length)} changed, ${String(diff.removed.length)} removed, ${String(diff.unchanged)} unchanged; content digests ${contentDigest(before).slice(0, 16)} -> ${contentDigest(after).slice(0, 16)}`,
  );
  return exitCodes.ok;
}

export function describeRollback(outcome: RollbackOutcome): string[] {
  const { plan } = outcome;
  const lines = [
    `rollback of ${plan.topic}`,
    `  from      ${plan.from} (${String(plan.keysNow)} keys)`,
    `  to        ${plan.to} (${plan.toSource}, ${String(plan.keysAtTarget)} keys, content digest ${plan.targetDigest})`,
    `  plan      ${String(plan.restored)} restored (deleted since), ${String(plan.reverted)} reverted (changed since), ${String(plan.deleted)} deleted (created since), ${String(plan.unchanged)} unchanged`,
  ];
  if (plan.heldBack !== undefined) lines.push(`  held back ${plan.heldBack}`);
  if (outcome.status === 'unchanged') lines.push('  nothing to write: the dataset already holds the target content');
  if (outcome.status === 'rolled-back')
    lines.push(
      `  wrote     ${String(outcome.records)} records in ${(outcome.seconds ?? 0).toFixed(2)} s`,
      `  version   ${outcome.token ?? ''}`,
    );
  return lines;
}

export async function rollbackCommand(
  target: RollbackTarget,
  ref: VersionRef,
  options: RollbackOptions & { dryRun: boolean; json: boolean },
  out: Print,
  err: Print,
): Promise<number> {
  const outcome = await rollbackDataset(target, ref, {
    ...options,
    confirm: options.confirm === true && !options.dryRun,
  });
  if (options.json) out(JSON.stringify(outcome));
  else for (const line of describeRollback(outcome)) out(line);
  if (outcome.status === 'held-back') return exitCodes.heldBack;
  if (outcome.status === 'planned' && !options.dryRun) {
    err(
      `nothing written: run again with --yes to write ${String(outcome.plan.restored + outcome.plan.reverted + outcome.plan.deleted)} records`,
    );
    return exitCodes.heldBack;
  }
  return exitCodes.ok;
}
