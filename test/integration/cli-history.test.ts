// `hotstate history`: a key's versions as the log holds them, oldest first, with operation, headers and value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { price, pricesTopic } from '../helpers/datasets.ts';
import { hotstate } from '../helpers/cli.ts';

test('hotstate history lists every version of a key still in the log, deletes and headers included', async (t) => {
  const { topic, producer } = await pricesTopic(t, { headers: { source: 'pricer' } });
  const first = await producer.upsert('ACME', price('ACME', 1), { traceId: 'trace-1' });
  await producer.send(
    Array.from({ length: 50 }, (_, i) => ({ key: `OTHER${String(i)}`, value: price(`OTHER${String(i)}`, i) })),
  );
  await producer.upsert('ACME', price('ACME', 2));
  const deleted = await producer.delete('ACME');
  const last = await producer.upsert('ACME', price('ACME', 3), { source: 'backfill' });

  const result = hotstate(['history', '-t', topic, 'ACME']);
  assert.equal(result.code, 0, result.stderr);
  const versions = result.stdout
    .trim()
    .split('\n')
    .map(
      (line) =>
        JSON.parse(line) as {
          partition: number;
          offset: number;
          operation: string;
          headers: Record<string, string>;
          value: { price: number } | null;
        },
    );
  assert.deepEqual(
    versions.map((v) => [v.operation, v.value?.price ?? null]),
    [
      ['upsert', 1],
      ['upsert', 2],
      ['delete', null],
      ['upsert', 3],
    ],
  );
  assert.ok(
    versions.every((v) => v.partition === first.partition),
    "one partition: the key's own",
  );
  assert.deepEqual(
    [versions[0]?.offset, versions[2]?.offset, versions[3]?.offset],
    [first.offset, deleted.offset, last.offset],
  );
  assert.deepEqual(
    [
      versions[0]?.headers['hotstate-source'],
      versions[0]?.headers['hotstate-trace-id'],
      versions[3]?.headers['hotstate-source'],
    ],
    ['pricer', 'trace-1', 'backfill'],
  );

  const all = hotstate(['history', '-t', topic, 'ACME', '--all-partitions']);
  assert.equal(all.stdout, result.stdout, 'no other partition holds the key');
  const none = hotstate(['history', '-t', topic, 'NEVER']);
  assert.equal(none.code, 6);
  assert.match(none.stderr, /no version of "NEVER"/);
});
