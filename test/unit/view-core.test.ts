// The view's readiness, poison, staleness, rebuild and close rules, fed by an in-memory transport and schema
// source (fakes of our own seams): no broker, no registry, conditions awaited rather than fixed sleeps.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { encodeFramed, parseAvroSchema } from '../../services/lib/codec/confluent-avro.ts';
import { isHotstateError } from '../../services/lib/errors.ts';
import { createLogger } from '../../services/lib/logger.ts';
import { formatVersionToken } from '../../services/lib/version-token.ts';
import { partitionForKey } from '../../services/lib/kafka/murmur2.ts';
import { createView, HotstateView, type ViewOptions, type ViewStateName } from '../../services/lib/view/view.ts';
import { snapshotFileName } from '../../services/lib/snapshot/snapshot-dir.ts';
import { InvalidTransitionError, ViewStateMachine } from '../../services/lib/core/view-state.ts';
import { MemorySchemas, MemoryTopic } from '../../services/lib/testing/memory-transport.ts';

const schema = { type: 'record', name: 'Item', fields: [{ name: 'n', type: 'int' }] };
const type = parseAvroSchema(schema);
const ID = 7;
const value = (n: number): Buffer => encodeFramed(type, ID, { n });

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function setup(
  t: TestContext,
  partitions = 1,
): { topic: MemoryTopic; schemas: MemorySchemas; open: (options?: Partial<ViewOptions>) => Promise<HotstateView> } {
  const topic = new MemoryTopic('items', partitions);
  const schemas = new MemorySchemas();
  schemas.register('items-value', ID, schema);
  const open = async (options: Partial<ViewOptions> = {}): Promise<HotstateView> => {
    const view = await createView({
      kafka: { brokers: ['unused:9092'] },
      registryUrl: 'http://unused',
      topic: 'items',
      transport: topic,
      schemaSource: schemas,
      healthCheckIntervalMs: 30,
      staleAfterMs: 200,
      logger: createLogger({ level: 'silent' }),
      ...options,
    });
    t.after(() => view.close());
    return view;
  };
  return { topic, schemas, open };
}

describe('view core (in-memory transport)', () => {
  test('the state machine refuses transitions its table does not list', () => {
    const machine = new ViewStateMachine();
    const seen: ViewStateName[] = [];
    machine.onTransition((state) => seen.push(state.name));
    machine.to('ready');
    assert.throws(() => {
      machine.to('replaying');
    }, InvalidTransitionError);
    machine.to('stale', { reason: 'no progress' });
    machine.to('failed', { reason: 'poison', failure: 'poison' });
    assert.throws(() => {
      machine.to('ready');
    }, InvalidTransitionError);
    machine.to('closed');
    assert.throws(() => {
      machine.to('rebuilding');
    }, InvalidTransitionError);
    assert.deepEqual(seen, ['ready', 'stale', 'failed', 'closed']);
  });

  test('replays to the end offsets captured at start, then tails; waitFor resolves', async (t) => {
    const { topic, open } = setup(t, 2);
    topic.append(0, 'a', value(1));
    topic.append(1, 'b', value(2));
    topic.append(0, 'a', null);
    const view = await open();
    await view.ready;
    assert.equal(view.state.name, 'ready');
    assert.deepEqual([view.has('a'), view.get<{ n: number }>('b')?.value.n], [false, 2]);
    const offset = topic.append(1, 'c', value(3));
    await view.waitFor(formatVersionToken({ topic: 'items', positions: new Map([[1, offset + 1]]) }), 2000);
    assert.equal(view.get<{ n: number }>('c')?.value.n, 3);
  });

  test('an empty topic is ready at once', async (t) => {
    const { open } = setup(t);
    const view = await open();
    await view.ready;
    assert.equal(view.status().ready, true);
  });

  test('fail policy: ready rejects, the state says failed and why; later records are not applied', async (t) => {
    const { topic, open } = setup(t);
    topic.append(0, 'a', value(1));
    topic.append(0, 'p', Buffer.from([9, 0, 0, 0, 7, 1]));
    topic.append(0, 'z', value(3));
    const view = await open({ poisonPolicy: 'fail' });
    await assert.rejects(
      view.ready,
      (error: unknown) =>
        isHotstateError(error, 'HOTSTATE_ERR_VIEW_NOT_READY') && /magic byte is 9/.test(error.message),
    );
    assert.deepEqual([view.status().state, view.status().failed, view.state.failure], ['failed', true, 'poison']);
    assert.equal(view.has('z'), false);
  });

  test('skip policy: poison is counted, the key keeps its last good value and is marked', async (t) => {
    const { topic, open } = setup(t);
    topic.append(0, 'a', value(1));
    topic.append(0, 'a', encodeFramed(type, 99, { n: 2 })); // an id the registry does not know
    topic.append(0, Buffer.from([0xff, 0xfe]), value(3)); // a key that is not UTF-8
    const metrics = new Registry();
    const view = await open({ metrics });
    await view.ready;
    assert.deepEqual([view.get<{ n: number }>('a')?.value.n, view.isPoisoned('a'), view.size], [1, true, 1]);
    const text = await metrics.metrics();
    assert.match(text, /hotstate_view_decode_errors_total\{topic="items",reason="unknown-schema-id"\} 1/);
    assert.match(text, /hotstate_view_decode_errors_total\{topic="items",reason="bad-key"\} 1/);
  });

  test('hostile data cannot wedge a partition: exact longs, capped nesting, throwing listeners, unexpected errors', async (t) => {
    const { topic, schemas, open } = setup(t);
    const wide = {
      type: 'record',
      name: 'Wide',
      fields: [
        { name: 'at', type: 'long' },
        { name: 'x', type: 'double' },
        { name: 'grid', type: { type: 'array', items: { type: 'array', items: 'null' } } },
      ],
    };
    schemas.register('items-value', 8, wide);
    const wideType = parseAvroSchema(wide);
    topic.append(0, 'max', encodeFramed(wideType, 8, { at: 9223372036854775807n, x: Number.NaN, grid: [] }));
    // 6,000 inner arrays of 10 nulls: 66,000 items from ~12 KB, beyond the record's budget of 25,000
    topic.append(
      0,
      'nested',
      encodeFramed(wideType, 8, { at: 1, x: 0, grid: Array.from({ length: 6000 }, () => Array<null>(10).fill(null)) }),
    );
    const metrics = new Registry();
    const view = await open({ metrics });
    const changes: string[] = [];
    view.onChange(() => {
      throw new Error('listener bug');
    });
    view.onChange((change) => changes.push(change.key));
    await view.ready;
    assert.deepEqual(
      { ...view.get<{ at: bigint; x: number }>('max')?.value },
      { at: 9223372036854775807n, x: Number.NaN, grid: [] },
    );
    assert.deepEqual([view.has('nested'), view.isPoisoned('nested')], [false, true]);
    assert.match(await metrics.metrics(), /hotstate_view_decode_errors_total\{topic="items",reason="malformed"\} 1/);
    const offset = topic.append(
      0,
      'min',
      encodeFramed(wideType, 8, { at: -9223372036854775808n, x: Number.POSITIVE_INFINITY, grid: [[null]] }),
    );
    await view.waitFor(formatVersionToken({ topic: 'items', positions: new Map([[0, offset + 1]]) }), 2000);
    assert.ok(changes.includes('min'), 'a throwing listener does not stop the others or the partition');
    // An error nobody expected (here: the schema source breaks) fails the view with the reason instead of stalling.
    schemas.schemaText = async () => {
      await Promise.resolve();
      throw new Error('disk on fire');
    };
    topic.append(0, 'later', encodeFramed(wideType, 9, { at: 1, x: 1, grid: [] }));
    await until(() => view.state.name === 'failed', 'failed');
    assert.match(view.status().reason ?? '', /disk on fire/);
  });

  test('a key in two partitions: counted, reported, and resolved by the same rule whatever the fetch order', async (t) => {
    // Keys whose home partition (murmur2, 3 partitions) is 0, 1 and 2.
    const homeOf = (key: string): number => partitionForKey(Buffer.from(key), 3);
    const keys = Array.from({ length: 50 }, (_, i) => `k${String(i)}`);
    const home0 = keys.find((k) => homeOf(k) === 0) ?? '';
    const home2 = keys.find((k) => homeOf(k) === 2) ?? '';
    const outcomes: string[] = [];
    for (const order of ['stray first', 'home first'] as const) {
      const { topic, open } = setup(t, 3);
      const metrics = new Registry();
      const view = await open({ metrics });
      await view.ready;
      const write = async (partition: number, key: string, n: number): Promise<void> => {
        const offset = topic.append(partition, key, value(n));
        await view.waitFor(formatVersionToken({ topic: 'items', positions: new Map([[partition, offset + 1]]) }), 2000);
      };
      // home0 written in its home partition 0 and stray in 1; home2 only in 1 and 0 (neither is home: lower wins).
      if (order === 'stray first') {
        await write(1, home0, 10);
        await write(0, home0, 20);
        await write(1, home0, 11);
        await write(1, home2, 30);
        await write(0, home2, 40);
      } else {
        await write(0, home0, 20);
        await write(1, home0, 10);
        await write(1, home0, 11);
        await write(0, home2, 40);
        await write(1, home2, 30);
      }
      outcomes.push(
        JSON.stringify([
          view.get<{ n: number }>(home0)?.value.n,
          view.get<{ n: number }>(home0)?.partition,
          view.get<{ n: number }>(home2)?.value.n,
        ]),
      );
      const { keyPartitionConflicts } = view.status();
      assert.ok(keyPartitionConflicts.total >= 2, order);
      assert.ok(
        keyPartitionConflicts.recent.some((c) => c.key === home0),
        order,
      );
      assert.match(await metrics.metrics(), /hotstate_view_key_partition_conflicts_total\{topic="items"\} [1-9]/);
    }
    assert.deepEqual(
      outcomes,
      [JSON.stringify([20, 0, 40]), JSON.stringify([20, 0, 40])],
      'home partition wins; then the lower partition',
    );
  });

  test('a key deleted in one partition and written in another: the same outcome in every fetch order', async (t) => {
    const homeOf = (key: string): number => partitionForKey(Buffer.from(key), 3);
    const keys = Array.from({ length: 50 }, (_, i) => `k${String(i)}`);
    const home0 = keys.find((k) => homeOf(k) === 0) ?? '';
    const home2 = keys.find((k) => homeOf(k) === 2) ?? '';
    // home0: written then deleted in its home partition 0, written by a stray writer in 2 (the tombstone wins).
    // home2: written then deleted in 0, written in 1 (neither is home: partition 0, the lower, wins, so deleted).
    // Each partition's records keep their order; only which partition is fetched first differs.
    type Write = [partition: number, key: string, n: number | null];
    const byPartition: Write[][] = [
      [
        [0, home0, 1],
        [0, home0, null],
        [0, home2, 3],
        [0, home2, null],
      ],
      [[1, home2, 4]],
      [[2, home0, 2]],
    ];
    const orders = [
      [0, 1, 2],
      [2, 1, 0],
      [1, 2, 0],
    ];
    const outcomes: string[] = [];
    for (const order of orders) {
      const { topic, open } = setup(t, 3);
      const view = await open();
      await view.ready;
      for (const partition of order) {
        for (const [p, key, n] of byPartition[partition] ?? []) {
          const offset = topic.append(p, key, n === null ? null : value(n));
          await view.waitFor(formatVersionToken({ topic: 'items', positions: new Map([[p, offset + 1]]) }), 2000);
        }
      }
      outcomes.push(JSON.stringify([view.has(home0), view.has(home2), view.status().keyPartitionConflicts.total > 0]));
    }
    assert.deepEqual(
      outcomes,
      orders.map(() => JSON.stringify([false, false, true])),
      'the tombstone in the winning partition wins whatever came first',
    );
  });

  test('closed while starting from a snapshot: no fetching and no timers start afterwards', async (t) => {
    const { topic, schemas, open } = setup(t);
    for (let i = 0; i < 2000; i++) topic.append(0, `k${String(i)}`, value(i));
    const first = await open();
    await first.ready;
    const dir = mkdtempSync(join(tmpdir(), 'view-core-snapshots-'));
    await first.writeSnapshot(join(dir, snapshotFileName('items', Date.now())));
    await first.close();
    assert.equal(topic.activeReaders, 0);
    const view = new HotstateView({
      kafka: { brokers: ['unused:9092'] },
      registryUrl: 'http://unused',
      topic: 'items',
      transport: topic,
      schemaSource: schemas,
      logger: createLogger({ level: 'silent' }),
      snapshot: { dir },
    });
    const starting = view.start();
    await view.close();
    await starting;
    assert.equal(topic.activeReaders, 0, 'the reader was never started for a closed view');
    await assert.rejects(view.ready, (error: unknown) => isHotstateError(error, 'HOTSTATE_ERR_LIFECYCLE_CLOSED'));
  });

  test('close: a pending ready and pending waitFor calls reject with HOTSTATE_ERR_LIFECYCLE_CLOSED', async (t) => {
    const { topic, open } = setup(t);
    topic.append(0, 'a', value(1));
    topic.paused = true; // the replay cannot finish
    const view = await open();
    const waiting = view.waitFor(formatVersionToken({ topic: 'items', positions: new Map([[0, 1]]) }), 60_000);
    await view.close();
    await assert.rejects(view.ready, (error: unknown) => isHotstateError(error, 'HOTSTATE_ERR_LIFECYCLE_CLOSED'));
    await assert.rejects(waiting, (error: unknown) => isHotstateError(error, 'HOTSTATE_ERR_LIFECYCLE_CLOSED'));
    assert.equal(view.status().state, 'closed');
  });

  test('stale: records wait and nothing advances, or fetching fails; fresh again once it moves', async (t) => {
    const { topic, open } = setup(t);
    const metrics = new Registry();
    const view = await open({ metrics });
    await view.ready;
    topic.paused = true;
    topic.append(0, 'a', value(1));
    await until(() => view.status().stale !== undefined, 'stale while records wait');
    assert.match(view.status().stale?.reason ?? '', /records wait in partition\(s\) 0 but none was applied there/);
    assert.match(await metrics.metrics(), /hotstate_view_stale\{topic="items"\} 1/);
    const lagSeconds = Number(/hotstate_view_lag_seconds\{topic="items"\} (\S+)/.exec(await metrics.metrics())?.[1]);
    assert.ok(lagSeconds > 0, `lag in seconds is shown while records wait (${String(lagSeconds)})`);
    topic.paused = false;
    topic.wake();
    await until(() => view.state.name === 'ready' && view.has('a'), 'fresh again');

    topic.failing = 'broker down (test)';
    topic.wake();
    await until(() => view.status().stale !== undefined, 'stale while fetching fails');
    assert.match(view.status().stale?.reason ?? '', /cannot fetch partition\(s\) 0: broker down/);
    const checkFailures = async (): Promise<number> =>
      Number(
        /hotstate_view_end_offset_check_failures_total\{topic="items"\} (\d+)/.exec(await metrics.metrics())?.[1] ?? 0,
      );
    while ((await checkFailures()) === 0) await sleep(10); // failed end-offset checks are counted
    assert.equal(view.state.name, 'stale');
    topic.failing = undefined;
    topic.wake();
    await until(() => view.state.name === 'ready', 'fresh after recovery');
  });

  test('stale: one partition stuck while another advances is stale too', async (t) => {
    const { topic, open } = setup(t, 2);
    const view = await open();
    await view.ready;
    topic.pausedPartitions.add(1);
    topic.append(1, 'stuck', value(1));
    const began = Date.now();
    // Partition 0 keeps advancing meanwhile.
    for (let n = 0; view.status().stale === undefined; n++) {
      if (Date.now() - began > 5000) assert.fail('never stale');
      const offset = topic.append(0, 'moving', value(n));
      await view.waitFor(formatVersionToken({ topic: 'items', positions: new Map([[0, offset + 1]]) }), 2000);
      await sleep(20);
    }
    assert.match(view.status().stale?.reason ?? '', /records wait in partition\(s\) 1 but none was applied there/);
    topic.pausedPartitions.delete(1);
    topic.wake();
    await until(() => view.state.name === 'ready' && view.has('stuck'), 'fresh again');
  });

  test('a registry outage is waited out in waiting-registry, never turned into poison', async (t) => {
    const { topic, schemas, open } = setup(t);
    schemas.down = true;
    topic.append(0, 'a', value(1));
    const view = await open();
    await until(() => view.state.name === 'waiting-registry', 'waiting-registry');
    assert.equal(view.status().ready, false);
    schemas.down = false;
    await view.ready;
    assert.deepEqual([view.get<{ n: number }>('a')?.value.n, view.isPoisoned('a')], [1, false]);
  });

  test('a recreated topic is a typed rebuild; the new content replaces the old', async (t) => {
    const { topic, open } = setup(t);
    topic.append(0, 'old', value(1));
    const view = await open();
    await view.ready;
    const reasons: string[] = [];
    view.on('rebuild', (reason) => reasons.push(reason));
    topic.recreate();
    topic.append(0, 'new', value(2));
    await until(() => view.state.name === 'ready' && view.has('new'), 'rebuilt');
    assert.deepEqual([reasons, view.has('old')], [['topic-recreated'], false]);
  });

  test('records removed before the view read them: rebuild with offset-out-of-range', async (t) => {
    const { topic, open } = setup(t);
    topic.append(0, 'a', value(1));
    topic.paused = true;
    const view = await open();
    topic.append(0, 'b', value(2));
    topic.truncateBefore(0, 1);
    const rebuilt = new Promise((resolve) => view.once('rebuild', resolve));
    topic.paused = false;
    topic.wake();
    assert.equal(await rebuilt, 'offset-out-of-range');
    await until(() => view.state.name === 'ready' && view.has('b'), 'ready after the rebuild');
    assert.equal(view.has('a'), false);
  });

  test('a replay slower than delete.retention.ms fails instead of serving possibly resurrected deletes', async (t) => {
    const { topic, open } = setup(t);
    topic.configs = { ...topic.configs, 'delete.retention.ms': '1' };
    topic.append(0, 'a', value(1));
    topic.paused = true;
    const view = await open();
    await sleep(5); // the replay now takes longer than 1 ms
    topic.paused = false;
    topic.wake();
    await assert.rejects(view.ready, /longer than delete\.retention\.ms=1/);
    assert.equal(view.state.failure, 'replay-slower-than-delete-retention');
  });
  test('a listener with a replay tail hears only the last records of each partition while replaying, then every change', async (t) => {
    const { topic, schemas } = setup(t, 2);
    for (let n = 0; n < 30; n++) topic.append(n % 2, `p${String(n % 2)}-k${String(n % 5)}`, value(n));
    const view = new HotstateView({
      kafka: { brokers: ['unused:9092'] },
      registryUrl: 'http://unused',
      topic: 'items',
      transport: topic,
      schemaSource: schemas,
      logger: createLogger({ level: 'silent' }),
    });
    t.after(() => view.close());
    const tail: Array<[number, number]> = [];
    const all: Array<[number, number]> = [];
    const windows: Array<ReadonlyMap<number, number>> = [];
    view.onChange(
      (change) => {
        tail.push([change.partition, change.offset]);
      },
      {
        replayTail: 4,
        onReplayWindow: (from) => {
          windows.push(from);
        },
      },
    );
    view.onChange((change) => {
      all.push([change.partition, change.offset]);
    });
    await view.start();
    await view.ready;
    assert.deepEqual(
      windows,
      [
        new Map([
          [0, 11],
          [1, 11],
        ]),
      ],
      'each partition holds 15 records: its last 4 start at offset 11',
    );
    assert.equal(all.length, 30, 'a listener without a tail hears the whole replay');
    assert.deepEqual(
      tail.filter(([p]) => p === 0).map(([, o]) => o),
      [11, 12, 13, 14],
    );
    assert.deepEqual(
      tail.filter(([p]) => p === 1).map(([, o]) => o),
      [11, 12, 13, 14],
    );
    const live = topic.append(0, 'p0-k1', value(99));
    await until(() => tail.some(([p, o]) => p === 0 && o === live), 'the live change');
    assert.equal(view.get<{ n: number }>('p0-k1')?.value.n, 99);
  });

  test('pin: readers see one version while applying goes on; unpin shows everything at once, changes in order', async (t) => {
    const { topic, open } = setup(t, 2);
    topic.append(0, 'a', value(1));
    topic.append(1, 'b', value(1));
    const metrics = new Registry();
    const view = await open({ metrics });
    await view.ready;
    const seen: Array<[string, number | undefined]> = [];
    view.onChange<{ n: number }>((change) => seen.push([change.key, change.value?.n]));
    const pinnedToken = view.token;
    const pin = view.pin('bad upstream file');
    assert.equal(pin.version, pinnedToken);
    // Writes, a delete and a new key while pinned: all applied underneath, none visible.
    let last = 0;
    for (let n = 2; n <= 50; n++) last = topic.append(0, 'a', value(n));
    topic.append(1, 'b', null);
    const lastC = topic.append(1, 'c', value(9));
    await until(
      () => view.status().partitions.every((p) => p.lag === 0) && view.status().partitions[0]?.position === last + 1,
      'applied underneath',
    );
    assert.equal(view.token, pinnedToken);
    assert.deepEqual(
      [view.get<{ n: number }>('a')?.value.n, view.has('b'), view.has('c'), view.size, view.keys().sort()],
      [1, true, false, 2, ['a', 'b']],
    );
    const snapshot = view.snapshot();
    assert.equal(snapshot.token, pinnedToken);
    snapshot.release();
    assert.deepEqual(seen, [], 'listeners are held back too');
    const status = view.status();
    assert.equal(status.pinned?.recordsBehind, 51);
    assert.equal(status.pinned.heldKeys, 3, 'one kept entry per changed key, however often it changed');
    const newer = formatVersionToken({ topic: 'items', positions: new Map([[1, lastC + 1]]) });
    await assert.rejects(view.waitFor(newer, 2000), (error: unknown) =>
      isHotstateError(error, 'HOTSTATE_ERR_VIEW_PINNED'),
    );
    assert.match(await metrics.metrics(), /hotstate_view_pinned\{topic="items"\} 1/);
    const released = view.unpin();
    assert.equal(released?.changes, 51);
    assert.deepEqual(
      [view.get<{ n: number }>('a')?.value.n, view.has('b'), view.get<{ n: number }>('c')?.value.n, view.size],
      [50, false, 9, 2],
    );
    await view.waitFor(newer, 100);
    assert.deepEqual(seen.slice(0, 2), [
      ['a', 2],
      ['a', 3],
    ]);
    assert.deepEqual(seen.slice(-2), [
      ['b', undefined],
      ['c', 9],
    ]);
    assert.equal(view.status().pinned, undefined);
    assert.match(await metrics.metrics(), /hotstate_view_pinned\{topic="items"\} 0/);
  });
});
