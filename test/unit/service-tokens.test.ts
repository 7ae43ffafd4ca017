// Service authentication without Kafka: several ingest tokens, each optionally limited to datasets, rotated by
// rewriting the token file (no restart); optional read tokens on the state service; operator routes take only the
// operator token; 401 and 403 in the error format, and no token ever in an answer.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { TokenSet } from '../../services/common/token-set.ts';
import { buildIngestApp } from '../../services/ingest/app.ts';
import { createLogger } from '../../services/lib/logger.ts';
import { buildStateApp } from '../../services/state/app.ts';
import type { HotstateView } from '../../services/lib/view/view.ts';

const logger = createLogger({ level: 'silent' });
const bearer = (token: string): Record<string, string> => ({
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
});

/** A state service app with read tokens, and nothing else a test here needs. */
const stateApp = (views: Map<string, HotstateView>, readTokens: TokenSet) =>
  buildStateApp({
    views,
    changeLogs: new Map(),
    metrics: new Registry(),
    logger,
    minVersionTimeoutMs: 10,
    cursorTtlMs: 1000,
    bodyLimitBytes: 1024,
    readyMaxStaleMs: 1000,
    feedLimits: { maxBufferedBytes: 65_536, maxFeeds: 10 },
    shuttingDown: () => false,
    readTokens,
  });

test('token files: several tokens, per-dataset limits, rotation without a restart, malformed lines named without the token', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotstate-tokens-'));
  const file = join(dir, 'tokens');
  writeFileSync(file, '# writers\nprices-writer-0123456789 prices\nall-datasets-writer-0123\n');
  const tokens = new TokenSet({ file });
  assert.equal(tokens.size, 2);
  assert.equal(tokens.check('Bearer prices-writer-0123456789', 'prices'), 'ok');
  assert.equal(tokens.check('Bearer prices-writer-0123456789', 'flags'), 'forbidden');
  assert.equal(tokens.check('Bearer all-datasets-writer-0123', 'flags'), 'ok');
  assert.equal(tokens.check('Bearer nope-nope-nope-nope-nope', 'prices'), 'unknown');
  assert.equal(tokens.check(undefined, 'prices'), 'unknown');

  // Rotation: the new token works and the old one stops, once the file changed (checked at most once a second).
  writeFileSync(file, 'rotated-writer-0123456789\n');
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  await sleep(1100);
  assert.equal(tokens.check('Bearer rotated-writer-0123456789', 'prices'), 'ok');
  assert.equal(tokens.check('Bearer all-datasets-writer-0123', 'prices'), 'unknown');
  // An edit with malformed lines fails closed, whatever kind of bad line it holds: the valid lines apply, the bad
  // ones are dropped and named, and a token the file no longer lists stops working.
  const problems: string[] = [];
  writeFileSync(file, 'kept-writer-0123456789\nremoved-writer-0123456\n');
  const watched = new TokenSet({ file, onReloadError: (error) => problems.push(error.message) });
  assert.equal(watched.check('Bearer removed-writer-0123456', 'prices'), 'ok');
  let bump = 10_000;
  for (const [bad, why] of [
    ['short', 'use a token of at least 16 characters'],
    ['spaced-writer-0123456789 prices flags', 'expected "<token> [dataset,dataset...]"'],
  ] as const) {
    problems.length = 0;
    writeFileSync(file, `kept-writer-0123456789\n${bad}\n`);
    utimesSync(file, new Date(), new Date(Date.now() + (bump += 5000)));
    await sleep(1100);
    assert.equal(watched.check('Bearer removed-writer-0123456', 'prices'), 'unknown', `revoked despite "${bad}"`);
    assert.equal(watched.check('Bearer kept-writer-0123456789', 'prices'), 'ok');
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', new RegExp(`${file} line 2: ${why.replace(/[[\]".]/g, '\\$&')}`));
    assert.doesNotMatch(problems[0] ?? '', /writer-0123/, 'no token in the message');
  }
  // A file that cannot be read any more leaves no file token working.
  writeFileSync(file, 'kept-writer-0123456789\n');
  utimesSync(file, new Date(), new Date(Date.now() + bump + 5000));
  await sleep(1100);
  assert.equal(watched.check('Bearer kept-writer-0123456789', 'prices'), 'ok');
  rmSync(file);
  await sleep(1100);
  assert.equal(watched.check('Bearer kept-writer-0123456789', 'prices'), 'unknown');
  assert.match(problems.at(-1) ?? '', /cannot read the token file/);
  writeFileSync(file, 'short\n');
  assert.throws(() => new TokenSet({ file }), /line 1: use a token of at least 16 characters/);
});

test('ingest: writes need a write token allowed for the dataset (401/403); rollback takes only the operator token', async (t) => {
  const app = buildIngestApp({
    producers: new Map(),
    metrics: new Registry(),
    logger,
    bodyLimitBytes: 1024,
    maxBatchRecords: 10,
    shuttingDown: () => false,
    tokens: new TokenSet({ token: 'global-writer-0123456789' }),
    operatorToken: 'operator-token-0123456789',
  });
  t.after(() => app.close());
  const put = (token: string, dataset: string) =>
    app.inject({ method: 'PUT', url: `/v1/datasets/${dataset}/records/A`, headers: bearer(token), payload: '{}' });
  const missing = await put('wrong-token-0123456789', 'prices');
  assert.equal(missing.statusCode, 401);
  assert.equal(missing.json<{ error: { code: string } }>().error.code, 'HOTSTATE_ERR_AUTH_REQUIRED');
  assert.ok(!missing.body.includes('global-writer'), 'no token in the answer');
  assert.equal(
    (await put('global-writer-0123456789', 'prices')).statusCode,
    404,
    'authenticated: the dataset is what is missing',
  );
  const rollback = (token: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/datasets/prices/rollback',
      headers: bearer(token),
      payload: JSON.stringify({ to: 'hs1.x' }),
    });
  assert.equal((await rollback('global-writer-0123456789')).statusCode, 401, 'a write token is not an operator token');
  assert.equal((await rollback('operator-token-0123456789')).statusCode, 404);
});

test('ingest: a token limited to one dataset is refused for another with 403', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hotstate-tokens-'));
  writeFileSync(join(dir, 'tokens'), 'prices-only-0123456789 prices\n');
  const app = buildIngestApp({
    producers: new Map(),
    metrics: new Registry(),
    logger,
    bodyLimitBytes: 1024,
    maxBatchRecords: 10,
    shuttingDown: () => false,
    tokens: new TokenSet({ file: join(dir, 'tokens') }),
  });
  t.after(() => app.close());
  const auth = { authorization: 'Bearer prices-only-0123456789' };
  const refused = await app.inject({ method: 'DELETE', url: '/v1/datasets/flags/records/A', headers: auth });
  assert.equal(refused.statusCode, 403);
  assert.equal(refused.json<{ error: { code: string } }>().error.code, 'HOTSTATE_ERR_AUTH_FORBIDDEN');
  assert.equal(
    (await app.inject({ method: 'DELETE', url: '/v1/datasets/prices/records/A', headers: auth })).statusCode,
    404,
  );
});

test('state: with read tokens, reads need one; probes and metrics stay open', async (t) => {
  const app = stateApp(new Map(), new TokenSet({ token: 'reader-token-0123456789' }));
  t.after(() => app.close());
  assert.equal((await app.inject({ method: 'GET', url: '/v1/datasets' })).statusCode, 401);
  assert.equal(
    (await app.inject({ method: 'GET', url: '/v1/datasets', headers: bearer('reader-token-0123456789') })).statusCode,
    200,
  );
  assert.equal(
    (await app.inject({ method: 'GET', url: '/v1/datasets/prices/keys/A', headers: bearer('reader-token-0123456789') }))
      .statusCode,
    404,
  );
  for (const url of ['/healthz', '/metrics'])
    assert.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url);
});

test('state: the dataset listing and /readyz show only the datasets the read token may read', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hotstate-tokens-'));
  writeFileSync(join(dir, 'tokens'), 'prices-reader-0123456789 prices\nall-reader-0123456789\n');
  // Only status() is asked of a view by the listing.
  const view = { status: () => ({ state: 'ready', ready: true }) } as unknown as HotstateView;
  const app = stateApp(
    new Map([
      ['prices', view],
      ['flags', view],
    ]),
    new TokenSet({ file: join(dir, 'tokens') }),
  );
  t.after(() => app.close());
  const names = async (token: string): Promise<string[]> =>
    (await app.inject({ method: 'GET', url: '/v1/datasets', headers: bearer(token) }))
      .json<{ datasets: Array<{ name: string }> }>()
      .datasets.map((d) => d.name);
  assert.deepEqual(await names('prices-reader-0123456789'), ['prices']);
  assert.deepEqual(await names('all-reader-0123456789'), ['prices', 'flags']);
  assert.equal((await app.inject({ method: 'GET', url: '/v1/datasets' })).statusCode, 401);

  // /readyz answers probes without a token (the code says it all) and shows a token only its datasets.
  const readyz = async (token?: string) =>
    (await app.inject({ method: 'GET', url: '/readyz', headers: token === undefined ? {} : bearer(token) })).json<{
      ready: boolean;
      datasets: Record<string, unknown>;
      datasetsNotShown?: number;
    }>();
  assert.deepEqual(await readyz(), { ready: true, shuttingDown: false, datasets: {}, datasetsNotShown: 2 });
  assert.deepEqual(Object.keys((await readyz('prices-reader-0123456789')).datasets), ['prices']);
  assert.deepEqual(Object.keys((await readyz('all-reader-0123456789')).datasets), ['prices', 'flags']);
});
