// `hotstate watch` as a process: emits only changes, refuses half-written files, holds back mass deletes,
// survives writes in pieces and replace-by-rename, and resumes after a restart without re-emitting.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { readToEnd } from '../helpers/read-to-end.ts';
import { hotstate, hotstateProcess } from '../helpers/cli.ts';
import { price, pricesTopic } from '../helpers/datasets.ts';
import { testKafka } from '../helpers/infra.ts';

function workDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'hotstate-watch-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const ndjson = (rows: Array<Record<string, unknown>>): string => rows.map((r) => `${JSON.stringify(r)}\n`).join('');
const row = (key: string, value = 100): Record<string, unknown> => ({ key, ...price(key, value) });

describe('hotstate watch --once', () => {
  test('NDJSON: emits changes only, refuses half-written files, holds back mass deletes', async (t) => {
    const { topic } = await pricesTopic(t);
    const file = join(workDir(t), 'prices.ndjson');
    const once = (...extra: string[]) => hotstate(['watch', '-t', topic, '-f', file, '--once', ...extra]);
    const count = async (): Promise<number> => (await readToEnd(testKafka(t), topic)).length;

    writeFileSync(file, ndjson([row('A'), row('B'), row('C'), row('D')]));
    const first = once();
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /emitted 4 upsert\(s\), 0 delete\(s\)/);
    assert.match(once().stdout, /no change/);
    assert.equal(await count(), 4);

    writeFileSync(file, ndjson([row('A', 101), row('B'), row('C')]));
    assert.match(once().stdout, /emitted 1 upsert\(s\), 1 delete\(s\)/);
    assert.equal(await count(), 6);

    writeFileSync(file, ndjson([row('A', 102), row('B')]).slice(0, -1)); // no final newline: still being written
    const partial = once();
    assert.equal(partial.code, 3);
    assert.match(partial.stderr, /the last line has no newline \(probably being written\); nothing emitted/);
    writeFileSync(file, `${ndjson([row('A')])}{"key": "B", "instr\n`);
    assert.match(once().stderr, /line 2: malformed JSON/);
    writeFileSync(file, ndjson([row('A'), { ...row('B'), currency: 'EURO' }]));
    const invalid = once();
    assert.equal(invalid.code, 3);
    assert.match(invalid.stderr, /key "B" field currency: "EURO" is not a symbol/);
    assert.equal(await count(), 6, 'nothing emitted by refused files');

    writeFileSync(file, ndjson([row('A')]));
    const held = once();
    assert.equal(held.code, 5);
    assert.match(held.stderr, /would delete 2 of 3 keys \(67% > 50%\); nothing emitted/);
    assert.equal(await count(), 6);
    const allowed = once('--allow-mass-delete');
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /emitted 1 upsert\(s\), 2 delete\(s\)/, 'A changed back to 100, B and C deleted');
  });

  test('CSV cells are typed by the schema; a cell that does not convert is refused', async (t) => {
    const { topic } = await pricesTopic(t);
    const file = join(workDir(t), 'prices.csv');
    writeFileSync(
      file,
      'key,instrument,price,currency,updatedAt,venue\nA,A,1.5,EUR,1795000000000,XPAR\nB,B,2,USD,1795000000000,\n',
    );
    const result = hotstate(['watch', '-t', topic, '-f', file, '--once']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /emitted 2 upsert/);
    writeFileSync(file, 'key,instrument,price,currency,updatedAt,venue\nA,A,cheap,EUR,1795000000000,XPAR\n');
    const bad = hotstate(['watch', '-t', topic, '-f', file, '--once']);
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /row 2 column price: "cheap" is not a number; nothing emitted/);
  });
});

describe('hotstate watch (live)', () => {
  test('survives writes in pieces, rename replacement and truncation; resumes after restart', async (t) => {
    const { topic } = await pricesTopic(t);
    const dir = workDir(t);
    const file = join(dir, 'prices.json');
    const json = (rows: Record<string, unknown>): string => JSON.stringify(rows, null, 2);
    writeFileSync(file, json({ A: price('A'), B: price('B') }));
    const args = ['watch', '-t', topic, '-f', file, '--settle-ms', '200'];
    let watcher = hotstateProcess(args);
    t.after(() => watcher.stop());
    await watcher.waitFor(/emitted 2 upsert\(s\), 0 delete\(s\)/);

    // A writer that pauses longer than the settle time in the middle of the file: the half file emits nothing.
    const next = json({ A: price('A', 1), B: price('B'), C: price('C') });
    writeFileSync(file, next.slice(0, 40));
    await watcher.waitFor(/not complete JSON .*; nothing emitted/);
    appendFileSync(file, next.slice(40));
    await watcher.waitFor(/emitted 2 upsert\(s\), 0 delete\(s\)/);

    // Editors that save by writing a temporary file and renaming it over the original.
    writeFileSync(join(dir, 'prices.json.tmp'), json({ A: price('A', 1), B: price('B', 2), C: price('C') }));
    renameSync(join(dir, 'prices.json.tmp'), file);
    await watcher.waitFor(/emitted 1 upsert\(s\), 0 delete\(s\)/);

    truncateSync(file, 0);
    await watcher.waitFor(/the file is empty \(probably being written\); nothing emitted/);
    assert.equal(await watcher.stop(), 0);

    // Restart: the file is complete again and unchanged since the last emit, so nothing is re-emitted.
    writeFileSync(file, json({ A: price('A', 1), B: price('B', 2), C: price('C') }));
    watcher = hotstateProcess(args);
    await watcher.waitFor(/no change/); // printed once the decision is made: nothing was sent
    const records = await readToEnd(testKafka(t), topic);
    assert.equal(records.length, 5, records.map((r) => r.key?.toString()).join(','));
  });
});
