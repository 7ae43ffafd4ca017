// Pinning under load, against a real broker: writes at about 1,000 per second; while pinned, readers polling as
// fast as they can never see the version, a value or the size change; after unpin the view holds exactly what the
// topic holds (read by an independent client), and change listeners saw every record once, in offset order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatVersionToken, parseVersionToken } from '../../services/lib/version-token.ts';
import { price, pricesTopic } from '../helpers/datasets.ts';
import { testKafka } from '../helpers/infra.ts';
import { readToEnd } from '../helpers/read-to-end.ts';
import { testView } from '../helpers/views.ts';

test('pin under 1k writes/s: readers see one version; unpin catches up with no gap, checked against the topic', async (t) => {
  const { topic, producer } = await pricesTopic(t);
  await producer.send(
    Array.from({ length: 300 }, (_, i) => ({ key: `P${String(i)}`, value: price(`P${String(i)}`, 0) })),
  );
  const view = await testView(t, topic);
  await view.ready;
  const startPositions = new Map(view.version.positions);
  const seen = new Map<number, number[]>(); // partition → offsets of change events, in the order received
  view.onChange((change) => {
    const offsets = seen.get(change.partition) ?? [];
    offsets.push(change.offset);
    seen.set(change.partition, offsets);
  });

  // About 1,000 writes per second for 6 s: 10 upserts every 10 ms over 300 keys.
  const control = { writing: true };
  let written = 0;
  const tokens: string[] = [];
  const writer = (async () => {
    const began = Date.now();
    while (control.writing && Date.now() - began < 6000) {
      const batch = Array.from({ length: 10 }, (_, i) => {
        const key = `P${String((written + i) % 300)}`;
        return { key, value: price(key, written + i) };
      });
      written += batch.length;
      tokens.push((await producer.send(batch)).token);
      await sleep(10);
    }
  })();

  await sleep(1500);
  const eventCount = (): number => [...seen.values()].reduce((n, offsets) => n + offsets.length, 0);
  const pin = view.pin('test');
  const eventsAtPin = eventCount();
  const pinnedSize = view.size;
  const pinnedValue = JSON.stringify(view.get('P7')?.value);
  let reads = 0;
  let violations = 0;
  const pinnedUntil = Date.now() + 3000;
  while (Date.now() < pinnedUntil) {
    for (let i = 0; i < 50; i++) {
      reads++;
      if (
        view.token !== pin.version ||
        view.size !== pinnedSize ||
        JSON.stringify(view.get('P7')?.value) !== pinnedValue
      )
        violations++;
    }
    await new Promise((resolve) => setImmediate(resolve)); // let fetching and applying go on between reads
  }
  const status = view.status();
  assert.ok(
    status.pinned && status.pinned.recordsBehind > 1000,
    `applying went on while pinned: ${String(status.pinned?.recordsBehind)} records behind`,
  );
  assert.equal(eventCount(), eventsAtPin, 'no change event while pinned');
  const released = view.unpin();
  assert.equal(violations, 0, `${String(violations)} of ${String(reads)} reads saw another version while pinned`);
  assert.ok(reads > 10_000, `readers kept reading (${String(reads)})`);
  assert.ok((released?.changes ?? 0) > 1000);
  control.writing = false;
  await writer;

  // Caught up with no gap: the view's content is the topic's, and every record reached the listeners once, in order.
  const final = new Map<number, number>();
  for (const token of tokens)
    for (const [p, next] of parseVersionToken(token).positions) final.set(p, Math.max(next, final.get(p) ?? 0));
  await view.waitFor(formatVersionToken({ topic, positions: final }));
  const records = await readToEnd(testKafka(t), topic);
  const latest = new Map<string, Buffer | null>();
  for (const r of records) latest.set(r.key?.toString() ?? '', r.value);
  assert.equal(view.size, [...latest.values()].filter((v) => v !== null).length);
  for (const [key, value] of latest)
    assert.ok(value === null ? !view.has(key) : view.valueBytes(key)?.equals(value), `key ${key} equals the topic's`);
  for (const [partition, end] of final) {
    const from = startPositions.get(partition) ?? 0;
    assert.deepEqual(
      seen.get(partition),
      Array.from({ length: end - from }, (_, i) => from + i),
      `partition ${String(partition)}: every offset once, in order`,
    );
  }
  assert.equal(written, records.length - 300);
});
