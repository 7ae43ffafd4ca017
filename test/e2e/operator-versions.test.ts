// Operator endpoints on versions, with the services as real processes: pin and unpin a dataset on the state service
// (operator token, distinct from the ingest token), and roll a dataset back through the ingest service.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registerValueSchema } from '../../services/lib/registry.ts';
import { hotstate } from '../helpers/cli.ts';
import { price, schemaText } from '../helpers/datasets.ts';
import { createTestTopic, testKafka, testRegistry } from '../helpers/infra.ts';
import { serviceEnv, startService, waitReady } from '../helpers/services.ts';

const ingestToken = 'versions-test-ingest-token-0123';
const operatorToken = 'versions-test-operator-token-0123';
const bearer = (token: string): Record<string, string> => ({
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
});
const json = async (response: Response): Promise<Record<string, unknown>> =>
  (await response.json()) as Record<string, unknown>;

test('operators pin and unpin a dataset, and roll it back, over HTTP', async (t) => {
  const topic = await createTestTopic(t, testKafka(t), { partitions: 3 });
  await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 2));
  const env = serviceEnv([topic], { HOTSTATE_OPERATOR_TOKEN: operatorToken });
  const [ingest, state] = await Promise.all([
    startService(t, 'ingest', { ...env, HOTSTATE_INGEST_TOKEN: ingestToken }),
    startService(t, 'state', env),
  ]);
  await waitReady(state);
  const write = async (updates: Array<{ key: string; value: unknown }>): Promise<string> =>
    String(
      (
        await json(
          await fetch(`${ingest.url}/v1/datasets/${topic}/batch`, {
            method: 'POST',
            headers: bearer(ingestToken),
            body: JSON.stringify({ updates }),
          }),
        )
      ).token,
    );
  const read = (key: string, minVersion?: string): Promise<Response> =>
    fetch(`${state.url}/v1/datasets/${topic}/keys/${key}${minVersion ? `?minVersion=${minVersion}` : ''}`);

  const good = await write([
    { key: 'A', value: price('A', 1) },
    { key: 'B', value: price('B', 1) },
    { key: 'C', value: price('C', 1) },
  ]);
  assert.equal((await read('A', good)).status, 200);
  const goodVersion = (await read('A')).headers.get('hotstate-version') ?? '';

  // Pin: operator token only; readers keep the pinned version and are told so.
  const pinUrl = `${state.url}/v1/datasets/${topic}/pin`;
  assert.equal(
    (await fetch(pinUrl, { method: 'POST', headers: bearer(ingestToken), body: '{}' })).status,
    401,
    'the ingest token is not an operator token',
  );
  const pinned = await fetch(pinUrl, {
    method: 'POST',
    headers: bearer(operatorToken),
    body: JSON.stringify({ reason: 'checking a bad batch' }),
  });
  assert.equal(pinned.status, 200);
  assert.equal(((await json(pinned)).pinned as { version: string }).version, goodVersion);
  const bad = await write([
    { key: 'A', value: price('A', 666) },
    { key: 'B', value: null },
    { key: 'X', value: price('X', 1) },
  ]);
  const whilePinned = await read('A');
  assert.equal(whilePinned.headers.get('hotstate-version'), goodVersion);
  assert.ok(whilePinned.headers.get('hotstate-pinned-since'));
  assert.equal(((await json(whilePinned)).value as { price: number }).price, 1);
  const newer = await read('A', bad);
  assert.equal(newer.status, 409);
  assert.equal(((await json(newer)).error as { code: string }).code, 'HOTSTATE_ERR_VIEW_PINNED');
  const listing = (await json(await fetch(`${state.url}/v1/datasets`))).datasets as Array<{
    pinned?: { reason: string; recordsBehind: number };
  }>;
  assert.equal(listing[0]?.pinned?.reason, 'checking a bad batch');
  const top = hotstate(['top', '--once', state.url]);
  assert.match(top.stdout, /since \S+, \d+ behind: checking a bad batch/);
  assert.match(await (await fetch(`${state.url}/metrics`)).text(), /hotstate_view_pinned\{topic="[^"]+"\} 1/);

  // Roll back through the ingest service while readers are still pinned: a plan first, then confirmed.
  const rollbackUrl = `${ingest.url}/v1/datasets/${topic}/rollback`;
  assert.equal(
    (
      await fetch(rollbackUrl, {
        method: 'POST',
        headers: bearer(ingestToken),
        body: JSON.stringify({ to: goodVersion }),
      })
    ).status,
    401,
  );
  assert.equal(
    (await fetch(rollbackUrl, { method: 'POST', headers: bearer(operatorToken), body: JSON.stringify({ to: 'nope' }) }))
      .status,
    400,
  );
  const plan = await json(
    await fetch(rollbackUrl, {
      method: 'POST',
      headers: bearer(operatorToken),
      body: JSON.stringify({ to: goodVersion }),
    }),
  );
  assert.equal(plan.status, 'planned');
  assert.deepEqual(
    [
      (plan.plan as { restored: number }).restored,
      (plan.plan as { reverted: number }).reverted,
      (plan.plan as { deleted: number }).deleted,
    ],
    [1, 1, 1],
  );
  const done = await json(
    await fetch(rollbackUrl, {
      method: 'POST',
      headers: bearer(operatorToken),
      body: JSON.stringify({ to: goodVersion, confirm: true }),
    }),
  );
  assert.equal(done.status, 'rolled-back', JSON.stringify(done));

  const unpinned = await json(
    await fetch(`${state.url}/v1/datasets/${topic}/unpin`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operatorToken}` },
    }),
  );
  assert.ok((unpinned.unpinned as { changes: number }).changes >= 3);
  const after = await read('A', String(done.token));
  assert.equal(after.status, 200);
  assert.equal(after.headers.get('hotstate-pinned-since'), null);
  assert.equal(((await json(after)).value as { price: number }).price, 1);
  assert.equal((await read('B', String(done.token))).status, 200);
  assert.equal((await read('X', String(done.token))).status, 404);
  assert.match(await (await fetch(`${state.url}/metrics`)).text(), /hotstate_view_pinned\{topic="[^"]+"\} 0/);
});
