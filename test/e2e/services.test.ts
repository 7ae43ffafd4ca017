// The state and ingest services as separate processes, driven over HTTP as a user would.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test, type TestContext } from 'node:test';
import { registerValueSchema } from '../../services/lib/registry.ts';
import { price, schemaText } from '../helpers/datasets.ts';
import { createTestTopic, testKafka, testRegistry } from '../helpers/infra.ts';
import { checkIngestDrains, checkStateDrains } from '../helpers/drain-checks.ts';
import { runService, serviceEnv, startService, waitReady, type RunningService } from '../helpers/services.ts';
import { openFeed } from '../helpers/sse.ts';
import { hotstate } from '../helpers/cli.ts';
import { skipWithout } from '../helpers/tools.ts';

const token = 'test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

async function dataset(t: TestContext): Promise<string> {
  const topic = await createTestTopic(t, testKafka(t), { partitions: 3 });
  await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 2));
  return topic;
}

async function services(
  t: TestContext,
  topic: string,
  extra: Record<string, string> = {},
): Promise<{ ingest: RunningService; state: RunningService }> {
  const [ingest, state] = await Promise.all([
    startService(t, 'ingest', serviceEnv([topic], { HOTSTATE_INGEST_TOKEN: token, ...extra })),
    startService(t, 'state', serviceEnv([topic], extra)),
  ]);
  await waitReady(state);
  return { ingest, state };
}

const json = async (response: Response): Promise<Record<string, unknown>> =>
  (await response.json()) as Record<string, unknown>;

describe('services end to end', () => {
  test('write through ingest, read your write through the state service with minVersion', async (t) => {
    const topic = await dataset(t);
    const { ingest, state } = await services(t, topic);
    const put = await fetch(`${ingest.url}/v1/datasets/${topic}/records/ACME`, {
      method: 'PUT',
      headers: auth,
      body: JSON.stringify(price('ACME', 101.5)),
    });
    assert.equal(put.status, 200);
    const write = await json(put);
    const read = await fetch(`${state.url}/v1/datasets/${topic}/keys/ACME?minVersion=${String(write.token)}`);
    assert.equal(read.status, 200);
    const body = await json(read);
    assert.deepEqual(body.value, price('ACME', 101.5));
    assert.deepEqual([body.partition, body.offset], [write.partition, write.offset]);
    const etag = read.headers.get('etag') ?? '';
    assert.equal(read.headers.get('hotstate-version'), body.version);
    assert.equal(
      (await fetch(`${state.url}/v1/datasets/${topic}/keys/ACME`, { headers: { 'if-none-match': etag } })).status,
      304,
    );

    const batch = await json(
      await fetch(`${ingest.url}/v1/datasets/${topic}/batch`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({
          updates: [
            { key: 'B', value: price('B') },
            { key: 'ACME', value: null },
          ],
        }),
      }),
    );
    const many = await json(
      await fetch(`${state.url}/v1/datasets/${topic}/get?minVersion=${String(batch.token)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ keys: ['ACME', 'B'] }),
      }),
    );
    assert.deepEqual(Object.keys(many.items as object), ['B']);
    assert.deepEqual(many.missing, ['ACME']);
    const del = await fetch(`${ingest.url}/v1/datasets/${topic}/records/B`, {
      method: 'DELETE',
      headers: { authorization: auth.authorization },
    });
    assert.equal((await json(del)).operation, 'delete');
    const metrics = await (await fetch(`${state.url}/metrics`)).text();
    assert.match(
      metrics,
      /hotstate_http_requests_total\{service="state",method="GET",route="\/v1\/datasets\/:dataset\/keys\/:key",status="200"\} [1-9]/,
    );
    assert.match(metrics, /hotstate_view_ready\{topic="[^"]+"\} 1/);
    assert.match(metrics, /nodejs_eventloop_lag_seconds /);
    assert.match(
      await (await fetch(`${ingest.url}/metrics`)).text(),
      /hotstate_producer_records_total\{topic="[^"]+",operation="upsert"\} [1-9]/,
    );

    const table = hotstate(['top', '--once', state.url]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^INSTANCE\s+DATASET\s+PARTITION\s+END\s+POSITION\s+LAG\s+READY\s+KEYS\s+PINNED$/);
    assert.equal(lines.length, 4, 'one row per partition');
    for (const row of lines.slice(1))
      assert.match(row, new RegExp(`${topic}\\s+\\d\\s+(\\d+)\\s+\\1\\s+0\\s+yes\\s+\\d+\\s+-$`));
  });

  test('listing pages all come from one version while writes continue', async (t) => {
    const topic = await dataset(t);
    const { ingest, state } = await services(t, topic);
    const updates = Array.from({ length: 50 }, (_, i) => ({
      key: `K${String(i).padStart(2, '0')}`,
      value: price(`K${String(i)}`, 1),
    }));
    const written = await json(
      await fetch(`${ingest.url}/v1/datasets/${topic}/batch`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ updates }),
      }),
    );
    let page = await json(
      await fetch(`${state.url}/v1/datasets/${topic}/items?limit=20&minVersion=${String(written.token)}`),
    );
    const version = page.version;
    const seen: Array<{ key: string; value: { price: number } }> = [
      ...(page.items as Array<{ key: string; value: { price: number } }>),
    ];
    while (page.nextCursor) {
      const change = await json(
        await fetch(`${ingest.url}/v1/datasets/${topic}/batch`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ updates: updates.map((u) => ({ key: u.key, value: price(u.key, 2) })) }),
        }),
      );
      assert.ok(change.token);
      page = await json(
        await fetch(`${state.url}/v1/datasets/${topic}/items?limit=20&cursor=${page.nextCursor as string}`),
      );
      assert.equal(page.version, version);
      seen.push(...(page.items as Array<{ key: string; value: { price: number } }>));
    }
    assert.equal(seen.length, 50);
    assert.ok(
      seen.every((item) => item.value.price === 1),
      'every page shows the listing version',
    );
    const expired = await fetch(`${state.url}/v1/datasets/${topic}/items?cursor=nope`);
    assert.equal(expired.status, 410);
  });

  test('change feed: resumes after a disconnect without loss or duplicates; too old a version needs a resync', async (t) => {
    const topic = await dataset(t);
    const { ingest, state } = await services(t, topic, { HOTSTATE_CHANGE_BUFFER: '30' });
    const write = async (keys: string[], value: number): Promise<string> =>
      String(
        (
          await json(
            await fetch(`${ingest.url}/v1/datasets/${topic}/batch`, {
              method: 'POST',
              headers: auth,
              body: JSON.stringify({
                updates: keys.map((key) => ({ key, value: value < 0 ? null : price(key, value) })),
              }),
            }),
          )
        ).token,
      );
    const listing = (await json(await fetch(`${state.url}/v1/datasets`))).datasets as Array<{ version: string }>;
    const start = listing[0]?.version ?? '';
    const feed = await openFeed(`${state.url}/v1/datasets/${topic}/changes?from=${start}`);
    assert.equal(feed.status, 200);
    await write(['A', 'B', 'C'], 1);
    await feed.waitFor(3);
    feed.close();
    const lastSeen = feed.events.at(-1)?.id ?? '';
    await write(['A', 'D'], 2);
    await write(['B'], -1);
    const resumed = await openFeed(`${state.url}/v1/datasets/${topic}/changes`, { 'last-event-id': lastSeen });
    await write(['Z'], 9); // a sentinel: everything before it has been delivered once it arrives
    await resumed.waitFor(4);
    resumed.close();
    const all = [...feed.events, ...resumed.events].map(
      (e) =>
        `${String(e.data.key)}:${e.data.value === null ? 'deleted' : String((e.data.value as { price: number }).price)}`,
    );
    assert.deepEqual(all.slice(0, 3).sort(), ['A:1', 'B:1', 'C:1']);
    assert.deepEqual(all.slice(3, 6).sort(), ['A:2', 'B:deleted', 'D:2'], 'resumed exactly after the last event seen');
    assert.deepEqual(all.slice(6), ['Z:9'], 'no duplicate before the sentinel');

    // A prefix feed beside an unfiltered one: its frames are not next to each other in the shared buffers.
    const [onlyA, everything] = await Promise.all([
      openFeed(`${state.url}/v1/datasets/${topic}/changes?prefix=A`),
      openFeed(`${state.url}/v1/datasets/${topic}/changes`),
    ]);
    await write(['A7', 'B7', 'A8', 'C7', 'A9', 'B8'], 7);
    await Promise.all([onlyA.waitFor(3), everything.waitFor(6)]);
    onlyA.close();
    everything.close();
    assert.deepEqual(onlyA.events.map((e) => String(e.data.key)).sort(), ['A7', 'A8', 'A9']);
    assert.deepEqual(everything.events.map((e) => String(e.data.key)).sort(), ['A7', 'A8', 'A9', 'B7', 'B8', 'C7']);

    const many = await write(
      Array.from({ length: 40 }, (_, i) => `K${String(i)}`),
      3,
    ); // more than the 30 changes held
    // The service applies asynchronously after the ack: wait until it holds those changes (read-your-write).
    assert.equal((await fetch(`${state.url}/v1/datasets/${topic}/keys/K39?minVersion=${many}`)).status, 200);
    const stale = await fetch(`${state.url}/v1/datasets/${topic}/changes?from=${start}`);
    assert.equal(stale.status, 410);
    assert.equal(((await json(stale)).error as { code: string }).code, 'HOTSTATE_ERR_FEED_RESYNC_NEEDED');
  });

  // Python stands for a client with a small receive buffer (Node cannot set one).
  test(
    'change feed: bursts of 600 and 5,000 large changes reach every reading follower; a client that does not read is cut alone',
    { skip: skipWithout('python3') },
    async (t) => {
      const topic = await dataset(t);
      // The service holds 6,000 changes: more than a burst, less than what the stalled client lets pile up.
      const limits = {
        HOTSTATE_BODY_LIMIT_BYTES: String(16 * 1_048_576),
        HOTSTATE_MAX_BATCH_RECORDS: '5000',
        HOTSTATE_CHANGE_BUFFER: '6000',
      };
      const { ingest, state } = await services(t, topic, limits);
      const listing = (await json(await fetch(`${state.url}/v1/datasets`))).datasets as Array<{ version: string }>;
      const url = `${state.url}/v1/datasets/${topic}/changes?from=${listing[0]?.version ?? ''}`;
      const feeds = await Promise.all(Array.from({ length: 10 }, () => openFeed(url)));
      // A client that sends its request and never reads what comes back, with a small receive buffer (Node cannot set
      // one) so that the kernel does not absorb megabytes for it.
      const target = new URL(url);
      const stalled = spawn('/usr/bin/python3', [
        '-c',
        `import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(('127.0.0.1', ${target.port}))
s.sendall(b'GET ${target.pathname}${target.search} HTTP/1.1\\r\\nHost: x\\r\\nAccept: text/event-stream\\r\\n\\r\\n')
time.sleep(600)
`,
      ]);
      t.after(() => stalled.kill());
      // Its socket never shows the close (a FIN waits behind the data it does not read): the service says it cut it.
      const cut = (): boolean =>
        state.output.some((line) => line.includes('change feed client disconnected: it does not read fast enough'));
      const venue = 'X'.repeat(1000); // ~1.2 KB a change
      let written = 0;
      const burst = async (size: number): Promise<void> => {
        const updates = Array.from({ length: size }, (_, i) => ({
          key: `K${String(written + i)}`,
          value: { ...price(`K${String(written + i)}`, size), venue },
        }));
        const answer = await fetch(`${ingest.url}/v1/datasets/${topic}/batch`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ updates }),
        });
        assert.equal(answer.status, 200, await answer.text());
        written += size;
        await Promise.all(feeds.map((feed) => feed.waitFor(written, 60_000)));
      };
      for (const size of [600, 5000, 5000]) await burst(size);
      // More until the client that does not read has more changes waiting than the service holds: it alone is cut.
      for (let more = 0; !cut(); more++) {
        assert.ok(more < 20, 'the client that does not read was never disconnected');
        await burst(1000);
        await sleep(500);
      }
      for (const feed of feeds) {
        assert.equal(feed.events.length, written, 'every event, once');
        feed.close();
      }
      assert.equal((await fetch(`${state.url}/readyz`)).status, 200);
    },
  );

  test('bad requests get documented 4xx answers', async (t) => {
    const topic = await dataset(t);
    const { ingest, state } = await services(t, topic, { HOTSTATE_BODY_LIMIT_BYTES: '2048' });
    const cases: Array<[string, Promise<Response>, number, string]> = [
      [
        'no token',
        fetch(`${ingest.url}/v1/datasets/${topic}/records/A`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        }),
        401,
        'HOTSTATE_ERR_AUTH_REQUIRED',
      ],
      [
        'wrong token',
        fetch(`${ingest.url}/v1/datasets/${topic}/records/A`, {
          method: 'PUT',
          headers: { ...auth, authorization: 'Bearer wrong-token-0123456789' },
          body: '{}',
        }),
        401,
        'HOTSTATE_ERR_AUTH_REQUIRED',
      ],
      [
        'malformed JSON',
        fetch(`${ingest.url}/v1/datasets/${topic}/records/A`, { method: 'PUT', headers: auth, body: '{"instrument":' }),
        400,
        'HOTSTATE_ERR_INPUT_MALFORMED',
      ],
      [
        'wrong types',
        fetch(`${ingest.url}/v1/datasets/${topic}/records/A`, {
          method: 'PUT',
          headers: auth,
          body: JSON.stringify({ ...price('A'), price: 'x', currency: 'EURO' }),
        }),
        400,
        'HOTSTATE_ERR_VALIDATION_VALUE',
      ],
      [
        'unknown dataset (ingest)',
        fetch(`${ingest.url}/v1/datasets/nope/records/A`, { method: 'PUT', headers: auth, body: '{}' }),
        404,
        'HOTSTATE_ERR_RESOURCE_NOT_FOUND',
      ],
      [
        'oversized body',
        fetch(`${ingest.url}/v1/datasets/${topic}/records/A`, {
          method: 'PUT',
          headers: auth,
          body: JSON.stringify({ ...price('A'), instrument: 'x'.repeat(4000) }),
        }),
        413,
        'HOTSTATE_ERR_HTTP_BODY_TOO_LARGE',
      ],
      [
        'unknown dataset (state)',
        fetch(`${state.url}/v1/datasets/nope/keys/A`),
        404,
        'HOTSTATE_ERR_RESOURCE_NOT_FOUND',
      ],
      ['unknown key', fetch(`${state.url}/v1/datasets/${topic}/keys/missing`), 404, 'HOTSTATE_ERR_RESOURCE_NOT_FOUND'],
      [
        'malformed version token',
        fetch(`${state.url}/v1/datasets/${topic}/keys/A?minVersion=hs1.!!`),
        400,
        'HOTSTATE_ERR_TOKEN_MALFORMED',
      ],
      ['unknown route', fetch(`${state.url}/v2/nothing`), 404, 'HOTSTATE_ERR_RESOURCE_NOT_FOUND'],
    ];
    for (const [name, request, status, code] of cases) {
      const response = await request;
      const body = await json(response);
      assert.equal(response.status, status, `${name}: ${JSON.stringify(body)}`);
      assert.equal((body.error as { code: string }).code, code, name);
      assert.doesNotMatch(JSON.stringify(body), /at .*\.ts:\d+|test-token/, `${name}: no stack trace or secret`);
    }
    const invalid = await json(
      await fetch(`${ingest.url}/v1/datasets/${topic}/records/A`, {
        method: 'PUT',
        headers: auth,
        body: JSON.stringify({ ...price('A'), price: 'x', currency: 'EURO' }),
      }),
    );
    assert.deepEqual((invalid.error as { problems: Array<{ path: string }> }).problems.map((p) => p.path).sort(), [
      'currency',
      'price',
    ]);
  });

  test('SIGTERM during traffic: every acknowledged write is in the topic, no 5xx, exit 0', async (t) => {
    const topic = await dataset(t);
    const { ingest } = await services(t, topic);
    await checkIngestDrains(t, ingest, topic, token);
  });

  test('numbers without loss: longs beyond 2^53 in and out as exact literals, NaN named, 1e400 refused with its field', async (t) => {
    const topic = await dataset(t);
    const { ingest, state } = await services(t, topic);
    const body = '{"instrument":"MAX","price":1.5,"currency":"EUR","updatedAt":9223372036854775807,"venue":null}';
    const put = await fetch(`${ingest.url}/v1/datasets/${topic}/records/MAX`, { method: 'PUT', headers: auth, body });
    assert.equal(put.status, 200, await put.clone().text());
    const read = await fetch(
      `${state.url}/v1/datasets/${topic}/keys/MAX?minVersion=${String((await json(put)).token)}`,
    );
    assert.match(
      await read.text(),
      /"value":\{"instrument":"MAX","price":1.5,"currency":"EUR","updatedAt":9223372036854775807,"venue":null\}/,
    );
    const overflow = await fetch(`${ingest.url}/v1/datasets/${topic}/records/INF`, {
      method: 'PUT',
      headers: auth,
      body: body.replace('1.5', '1e400'),
    });
    const refused = await json(overflow);
    assert.equal(overflow.status, 400);
    assert.deepEqual(
      [(refused.error as { code: string }).code, /price.*1e400/.test((refused.error as { message: string }).message)],
      ['HOTSTATE_ERR_INPUT_MALFORMED', true],
    );
    const nan = await fetch(`${ingest.url}/v1/datasets/${topic}/records/NAN`, {
      method: 'PUT',
      headers: auth,
      body: body.replace('1.5', '"NaN"'),
    });
    assert.equal(nan.status, 400, 'JSON cannot carry NaN as a number; the ingest service does not guess');
  });

  test('state service SIGTERM during reads: accepted reads finish, no 5xx but the documented 503, exit 0', async (t) => {
    const topic = await dataset(t);
    await checkStateDrains(t, await services(t, topic), topic, token);
  });

  test("a key's history through the state service: operator token required, every version in order", async (t) => {
    const topic = await dataset(t);
    const operator = 'services-test-operator-token-0123';
    const { ingest, state } = await services(t, topic, { HOTSTATE_OPERATOR_TOKEN: operator });
    const put = (value: number): Promise<Response> =>
      fetch(`${ingest.url}/v1/datasets/${topic}/records/ACME`, {
        method: 'PUT',
        headers: { ...auth, 'hotstate-source': 'e2e' },
        body: JSON.stringify(price('ACME', value)),
      });
    await put(1);
    await fetch(`${ingest.url}/v1/datasets/${topic}/records/ACME`, {
      method: 'DELETE',
      headers: { authorization: auth.authorization },
    });
    await put(2);
    const url = `${state.url}/v1/datasets/${topic}/keys/ACME/history`;
    const refused = await fetch(url, { headers: { authorization: auth.authorization } });
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'HOTSTATE_ERR_AUTH_REQUIRED');
    const answer = await fetch(url, { headers: { authorization: `Bearer ${operator}` } });
    assert.equal(answer.status, 200);
    const { versions } = (await answer.json()) as {
      versions: Array<{ operation: string; value: { price: number } | null; offset: number }>;
    };
    assert.deepEqual(
      versions.map((v) => [v.operation, v.value?.price ?? null]),
      [
        ['upsert', 1],
        ['delete', null],
        ['upsert', 2],
      ],
    );
    assert.ok(versions.every((v, i) => i === 0 || v.offset > (versions[i - 1]?.offset ?? 0)));
  });

  test('a write token removed from the token file stops writing within the reload interval, whatever bad line the edit holds', async (t) => {
    const topic = await dataset(t);
    const dir = mkdtempSync(join(tmpdir(), 'hotstate-token-file-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const file = join(dir, 'tokens');
    const kept = 'kept-writer-0123456789';
    const removed = 'removed-writer-0123456';
    writeFileSync(file, `${kept}\n${removed}\n`);
    const ingest = await startService(t, 'ingest', serviceEnv([topic], { HOTSTATE_INGEST_TOKENS_FILE: file }));
    const put = async (writer: string, n: number): Promise<number> =>
      (
        await fetch(`${ingest.url}/v1/datasets/${topic}/records/K`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' },
          body: JSON.stringify(price('K', n)),
        })
      ).status;
    assert.equal(await put(removed, 1), 200);
    let n = 1;
    for (const bad of ['short', 'spaced-writer-0123456789 a b', '\u0000binary-garbage-line-0123']) {
      writeFileSync(file, `${kept}\n${bad}\n`);
      const edited = Date.now();
      while ((await put(removed, ++n)) === 200) {
        assert.ok(Date.now() - edited < 5000, `token still writes 5 s after an edit with ${JSON.stringify(bad)}`);
        await sleep(100);
      }
      assert.equal(await put(removed, ++n), 401, `revoked despite ${JSON.stringify(bad)}`);
      assert.equal(await put(kept, ++n), 200);
      writeFileSync(file, `${kept}\n${removed}\n`); // back, for the next kind of bad line
      while ((await put(removed, ++n)) !== 200) await sleep(100);
    }
    assert.ok(
      ingest.output.some((line) => line.includes(`${file} line 2`)),
      'the bad line is named',
    );
    assert.ok(!ingest.output.some((line) => line.includes(removed)), 'no token in the logs');
  });

  test('bad configuration: exit 2 with every problem listed, no secret echoed', async () => {
    const { output, exited } = runService('ingest', {
      KAFKA_BROKERS: 'not a broker',
      SCHEMA_REGISTRY_URL: 'nope',
      HOTSTATE_DATASETS: '',
      HOTSTATE_INGEST_TOKEN: 'short-secret',
      HOTSTATE_HTTP_PORT: '99999',
    });
    assert.equal(await exited, 2);
    const text = output.join('\n');
    for (const name of [
      'KAFKA_BROKERS',
      'SCHEMA_REGISTRY_URL',
      'HOTSTATE_DATASETS',
      'HOTSTATE_INGEST_TOKEN',
      'HOTSTATE_HTTP_PORT',
    ])
      assert.match(text, new RegExp(name));
    assert.doesNotMatch(text, /short-secret/);
  });
});
