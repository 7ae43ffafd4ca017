// The chaos suite's verdicts: pure functions of what the writers were told, what the topic holds (read by kcat,
// an independent client) and what each view reported.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { StatusSample } from './workers.ts';

export interface Ack {
  readonly key: string;
  readonly seq: number;
  readonly op: 'upsert' | 'delete';
  readonly partition: number;
  readonly offset: number;
  readonly t: number;
}

export interface TopicRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly tombstone: boolean;
  /** The writer's per-key sequence number, carried in the hotstate-trace-id header. */
  readonly seq: number | undefined;
}

/** Every record of the topic, as kcat reads it. */
export function readTopicWithKcat(brokers: string, topic: string): TopicRecord[] {
  const out = execFileSync(
    'kcat',
    ['-C', '-b', brokers, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p %o %k %S %h\n'],
    { maxBuffer: 1024 * 1024 * 1024, encoding: 'utf8' },
  );
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [p, o, key, size, headers = ''] = line.split(' ');
      const trace = /hotstate-trace-id=(\d+)/.exec(headers);
      return {
        partition: Number(p),
        offset: Number(o),
        key: key ?? '',
        tombstone: size === '-1',
        seq: trace ? Number(trace[1]) : undefined,
      };
    });
}

const coordinates = (partition: number, offset: number): string => `${String(partition)}/${String(offset)}`;

export interface AckVerdict {
  readonly acknowledged: number;
  readonly badOffsets: number;
  readonly lost: number;
  readonly holdAnother: number;
}

/** Every acknowledged (partition, offset) must hold exactly the acknowledged record. */
export function checkAcks(acks: readonly Ack[], records: readonly TopicRecord[]): AckVerdict {
  const byCoordinates = new Map(records.map((r) => [coordinates(r.partition, r.offset), r]));
  let badOffsets = 0;
  let lost = 0;
  let holdAnother = 0;
  for (const ack of acks) {
    if (!Number.isInteger(ack.offset) || ack.offset < 0) {
      badOffsets++;
      continue;
    }
    const record = byCoordinates.get(coordinates(ack.partition, ack.offset));
    if (!record) lost++;
    else if (record.key !== ack.key || record.seq !== ack.seq || record.tombstone !== (ack.op === 'delete'))
      holdAnother++;
  }
  return { acknowledged: acks.length, badOffsets, lost, holdAnother };
}

/** The final state of the topic: per key, its last record (absent when that is a tombstone). */
export function finalState(records: readonly TopicRecord[]): Map<string, TopicRecord> {
  const state = new Map<string, TopicRecord>();
  for (const r of [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    if (r.tombstone) state.delete(r.key);
    else state.set(r.key, r);
  }
  return state;
}

/** Same digest as the view worker's: sha256 of sorted `key partition offset` lines. */
export function digestOf(state: ReadonlyMap<string, TopicRecord>): string {
  const lines = [...state].map(([key, r]) => `${key} ${String(r.partition)} ${String(r.offset)}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

/**
 * Keys whose last acknowledged write was a delete, and that the topic still holds with a value no writer sent
 * after that delete: a resurrected delete.
 */
export function resurrectedDeletes(
  acks: readonly Ack[],
  attemptedUpserts: ReadonlyMap<string, readonly number[]>,
  state: ReadonlyMap<string, TopicRecord>,
): number {
  const lastAck = new Map<string, Ack>();
  for (const ack of acks) if ((lastAck.get(ack.key)?.seq ?? -1) < ack.seq) lastAck.set(ack.key, ack);
  let resurrected = 0;
  for (const [key, ack] of lastAck) {
    if (ack.op !== 'delete') continue;
    const held = state.get(key);
    const laterUpsertTried = (attemptedUpserts.get(key) ?? []).some((seq) => seq > ack.seq);
    if (held && !laterUpsertTried) resurrected++;
  }
  return resurrected;
}

export interface StreamVerdict {
  readonly notifications: number;
  readonly duplicates: number;
  readonly gaps: number;
  readonly reorders: number;
}

/**
 * A view that replayed from the beginning must have notified exactly the topic's records that change something
 * (not a delete of a missing key), once each, in offset order per partition.
 */
export function checkChangeStream(file: string, records: readonly TopicRecord[]): StreamVerdict {
  const expected = new Set<string>();
  const present = new Set<string>();
  for (const r of [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    if (r.tombstone && !present.has(r.key)) continue;
    if (r.tombstone) present.delete(r.key);
    else present.add(r.key);
    expected.add(coordinates(r.partition, r.offset));
  }
  const seen = new Set<string>();
  const lastOffset = new Map<number, number>();
  let duplicates = 0;
  let reorders = 0;
  let notifications = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const [p, o] = line.split(' ').map(Number) as [number, number];
    notifications++;
    const at = coordinates(p, o);
    if (seen.has(at)) duplicates++;
    seen.add(at);
    if ((lastOffset.get(p) ?? -1) >= o) reorders++;
    lastOffset.set(p, o);
  }
  let gaps = 0;
  for (const at of expected) if (!seen.has(at)) gaps++;
  for (const at of seen) if (!expected.has(at)) gaps++;
  return { notifications, duplicates, gaps, reorders };
}

/**
 * Samples where a view said `ready` (fresh) although it had not advanced for longer than its stale threshold plus
 * reporting slack while acknowledged records it had not applied were waiting.
 */
export function falseFreshness(
  samples: readonly StatusSample[],
  acks: readonly Ack[],
  staleAfterMs: number,
  slackMs: number,
): number {
  const lastChange = new Map<string, { position: number; since: number }>();
  let violations = 0;
  for (const sample of samples) {
    let waitingTooLong = false;
    for (const [partition, position] of Object.entries(sample.positions)) {
      const previous = lastChange.get(partition);
      if (!previous || previous.position !== position) lastChange.set(partition, { position, since: sample.t });
      const since = lastChange.get(partition)?.since ?? sample.t;
      if (sample.t - since <= staleAfterMs + slackMs) continue;
      const waiting = acks.some(
        (a) => String(a.partition) === partition && a.offset >= position && a.t < sample.t - slackMs,
      );
      if (waiting) waitingTooLong = true;
    }
    if (waitingTooLong && sample.state === 'ready') violations++;
  }
  return violations;
}
