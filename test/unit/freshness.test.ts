// Freshness and topic-health rules over plain numbers: no clock, no broker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeFreshness, trackWaiting, type FreshnessInput } from '../../services/lib/core/freshness.ts';
import { judgeLayout, judgeOffsets } from '../../services/lib/core/topic-health.ts';
import type { TopicLayout } from '../../services/lib/transport/transport.ts';

const base: FreshnessInput = {
  now: 100_000,
  positions: [
    [0, 10],
    [1, 20],
  ],
  latestEnds: new Map([
    [0, 10],
    [1, 20],
  ]),
  progressedAt: () => 99_000,
  waitingSince: new Map(),
  unavailable: new Map(),
  staleAfterMs: 5000,
  lastAppliedTimestamp: 98_000,
  fallbackSince: 90_000,
};

test('caught up: fresh, lag 0', () => {
  assert.deepEqual(judgeFreshness(base), { lagSeconds: 0, staleReason: undefined });
});

test('records wait but the partition advanced recently: fresh, lag from the newest applied record', () => {
  const verdict = judgeFreshness({
    ...base,
    latestEnds: new Map([
      [0, 15],
      [1, 20],
    ]),
  });
  assert.deepEqual(verdict, { lagSeconds: 2, staleReason: undefined });
});

test('one partition stuck while the other advances: stale, naming it and for how long', () => {
  const progressedAt = (p: number): number => (p === 1 ? 92_000 : 99_900);
  const verdict = judgeFreshness({
    ...base,
    latestEnds: new Map([
      [0, 11],
      [1, 25],
    ]),
    progressedAt,
    waitingSince: new Map([[1, 90_000]]),
  });
  assert.equal(verdict.staleReason, 'records wait in partition(s) 1 but none was applied there for 8.0 s');
});

test('an idle partition that just got a record is not stuck: the time counts from when records began to wait', () => {
  const idle = {
    ...base,
    latestEnds: new Map([
      [0, 11],
      [1, 20],
    ]),
    progressedAt: (p: number) => (p === 0 ? 10_000 : 99_000),
  };
  assert.equal(judgeFreshness({ ...idle, waitingSince: new Map([[0, 99_900]]) }).staleReason, undefined);
  assert.equal(
    judgeFreshness({ ...idle, waitingSince: new Map([[0, 94_000]]) }).staleReason,
    'records wait in partition(s) 0 but none was applied there for 6.0 s',
  );
});

test('trackWaiting notes when records began to wait and forgets caught-up partitions', () => {
  const since = new Map<number, number>([[1, 5]]);
  trackWaiting(
    since,
    [
      [0, 10],
      [1, 20],
    ],
    new Map([
      [0, 12],
      [1, 20],
    ]),
    100,
  );
  assert.deepEqual([...since], [[0, 100]]);
  trackWaiting(
    since,
    [
      [0, 11],
      [1, 20],
    ],
    new Map([
      [0, 12],
      [1, 20],
    ]),
    200,
  );
  assert.deepEqual([...since], [[0, 100]], 'still waiting: the first time stays');
});

test('a partition that cannot be fetched: stale at once, with why', () => {
  const verdict = judgeFreshness({ ...base, unavailable: new Map([[1, 'not the leader']]) });
  assert.equal(verdict.staleReason, 'cannot fetch partition(s) 1: not the leader');
  assert.equal(verdict.lagSeconds, 2);
});

test('nothing applied yet: lag counts from the fallback (the replay start)', () => {
  assert.equal(judgeFreshness({ ...base, lastAppliedTimestamp: 0, latestEnds: new Map([[0, 11]]) }).lagSeconds, 10);
});

const layout = (topicId: string): TopicLayout => ({
  topic: 't',
  topicId,
  partitions: [{ partition: 0, leader: 1, inSync: [1] }],
  replicationFactor: 1,
});

test('topic health: gone, recreated, back after missing, unchanged', () => {
  assert.deepEqual(judgeLayout('t', undefined, 'a', false), {
    action: 'fail-missing',
    detail: 'topic t does not exist (deleted?)',
  });
  assert.equal(judgeLayout('t', layout('b'), 'a', false).action, 'rebuild');
  assert.equal(judgeLayout('t', layout('a'), 'a', true).action, 'rebuild');
  assert.deepEqual(judgeLayout('t', layout('a'), 'a', false), { action: 'none' });
});

test('topic health: truncated below the position, records removed before read, or fine', () => {
  const asked = new Map([[0, 50]]);
  assert.deepEqual(judgeOffsets(asked, [{ partition: 0, start: 0, end: 40 }]), {
    action: 'rebuild',
    reason: 'topic-truncated',
    detail: 'partition 0 ends at 40, below the view position 50',
  });
  assert.equal(judgeOffsets(asked, [{ partition: 0, start: 60, end: 80 }]).action, 'rebuild');
  assert.equal(
    judgeOffsets(asked, [{ partition: 0, start: 60, end: 60 }]).action,
    'rebuild',
    'emptied by retention past the position: records were missed',
  );
  assert.deepEqual(
    judgeOffsets(asked, [{ partition: 0, start: 50, end: 50 }]),
    { action: 'none' },
    'all read, then emptied up to the position: nothing was missed',
  );
  assert.deepEqual(judgeOffsets(asked, [{ partition: 0, start: 10, end: 80 }]), { action: 'none' });
});
