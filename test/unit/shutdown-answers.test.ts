// What a service answers once SIGTERM arrived, without racing a real signal: new API requests get the documented
// 503 (retriable, connection closed), probes say it is draining, and every answer closes its connection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { createLogger } from '../../services/lib/logger.ts';
import { buildStateApp } from '../../services/state/app.ts';

test('shutting down: API requests get 503 HOTSTATE_ERR_SERVICE_SHUTTING_DOWN, readiness fails, connections close', async (t) => {
  let stopping = false;
  const app = buildStateApp({
    views: new Map(),
    changeLogs: new Map(),
    metrics: new Registry(),
    logger: createLogger({ level: 'silent' }),
    minVersionTimeoutMs: 10,
    cursorTtlMs: 1000,
    bodyLimitBytes: 1024,
    readyMaxStaleMs: 1000,
    feedLimits: { maxBufferedBytes: 65_536, maxFeeds: 10 },
    shuttingDown: () => stopping,
  });
  t.after(() => app.close());
  const before = await app.inject({ method: 'GET', url: '/v1/datasets' });
  assert.deepEqual([before.statusCode, before.headers.connection], [200, 'keep-alive']);
  stopping = true;
  const refused = await app.inject({ method: 'GET', url: '/v1/datasets' });
  assert.equal(refused.statusCode, 503);
  assert.equal(refused.json<{ error: { code: string } }>().error.code, 'HOTSTATE_ERR_SERVICE_SHUTTING_DOWN');
  assert.deepEqual([refused.headers['retry-after'], refused.headers.connection], ['1', 'close']);
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  assert.deepEqual(
    [ready.statusCode, ready.json<{ shuttingDown: boolean }>().shuttingDown, ready.headers.connection],
    [503, true, 'close'],
  );
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
});
