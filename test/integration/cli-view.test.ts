// `hotstate get`, `dump`, `tail` and `sync` as processes against the real broker and registry.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readToEnd } from '../helpers/read-to-end.ts';
import { hotstate, hotstateProcess } from '../helpers/cli.ts';
import { price, pricesTopic } from '../helpers/datasets.ts';
import { testKafka } from '../helpers/infra.ts';

describe('hotstate get / dump / tail / sync', () => {
  test('get prints keys, exit 6 for a missing one; dump prints the whole dataset', async (t) => {
    const { topic, producer } = await pricesTopic(t);
    await producer.send([
      { key: 'fx:EUR', value: price('fx:EUR', 1) },
      { key: 'eq:ACME', value: price('eq:ACME', 2) },
    ]);
    const got = hotstate(['get', '-t', topic, 'eq:ACME']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal((JSON.parse(got.stdout) as { value: { price: number } }).value.price, 2);
    const missing = hotstate(['get', '-t', topic, 'eq:ACME', 'nope']);
    assert.equal(missing.code, 6);
    assert.match(missing.stderr, /no key "nope"/);
    const dumped = hotstate(['dump', '-t', topic, '--prefix', 'fx:']);
    assert.equal(dumped.code, 0, dumped.stderr);
    assert.deepEqual(
      dumped.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { key: string }).key),
      ['fx:EUR'],
    );
    assert.match(dumped.stderr, /dumped 1 key\(s\) of .* at version hs1\./);
  });

  test('tail prints live changes', async (t) => {
    const { topic, producer } = await pricesTopic(t);
    const tailing = hotstateProcess(['tail', '-t', topic]);
    t.after(() => tailing.stop());
    await tailing.waitFor(/^tailing /); // replayed, following from here
    await producer.upsert('A', price('A', 7));
    await producer.delete('A');
    assert.equal(
      (JSON.parse(await tailing.waitFor(/"key":"A".*"value":\{/)) as { value: { price: number } }).value.price,
      7,
    );
    assert.match(await tailing.waitFor(/"key":"A"/), /"value":null/);
    assert.equal(await tailing.stop(), 0);
  });

  test('sync reconciles a file with the topic: plan first, then only the differences', async (t) => {
    const { topic, producer } = await pricesTopic(t);
    await producer.send([
      { key: 'A', value: price('A', 1) },
      { key: 'B', value: price('B', 2) },
      { key: 'C', value: price('C', 3) },
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'hotstate-sync-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const file = join(dir, 'prices.json');
    writeFileSync(file, JSON.stringify({ A: price('A', 1), B: price('B', 20), D: price('D', 4) }));
    const plan = hotstate(['sync', '-t', topic, '-f', file, '--dry-run']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.deepEqual(plan.stdout.trim().split('\n').slice(0, -1).sort(), [
      'would delete C',
      'would upsert B',
      'would upsert D',
    ]);
    assert.match(plan.stdout, /plan: 2 upsert\(s\), 1 delete\(s\), 1 unchanged .*; dry run, nothing sent/);
    assert.equal((await readToEnd(testKafka(t), topic)).length, 3);
    const synced = hotstate(['sync', '-t', topic, '-f', file]);
    assert.equal(synced.code, 0, synced.stderr);
    assert.match(synced.stdout, /synced: 2 upsert\(s\), 1 delete\(s\), 1 unchanged/);
    assert.equal((await readToEnd(testKafka(t), topic)).length, 6);
    assert.match(
      hotstate(['sync', '-t', topic, '-f', file]).stdout,
      /synced: 0 upsert\(s\), 0 delete\(s\), 3 unchanged/,
    );

    // The same mass-delete guard as watch: a file that would delete 2 of 3 keys is held back (exit 5).
    writeFileSync(file, JSON.stringify({ A: price('A', 1) }));
    const held = hotstate(['sync', '-t', topic, '-f', file]);
    assert.equal(held.code, 5, held.stderr);
    assert.match(
      held.stderr,
      /would delete 2 of 3 keys \(67% > 50%\); nothing emitted \(allowMassDelete permits it\); rerun with --allow-mass-delete to send it/,
    );
    assert.equal((await readToEnd(testKafka(t), topic)).length, 6, 'nothing sent');
    assert.equal(hotstate(['sync', '-t', topic, '-f', file, '--allow-mass-delete']).code, 0);
    assert.equal((await readToEnd(testKafka(t), topic)).length, 8);
  });
});
