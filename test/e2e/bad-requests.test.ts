// Every bad request either service can get, sent as raw HTTP to the real processes: each answer must be our error
// body with a documented code and that code's status, never a framework's own body or a bare status line.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { httpStatusByCode } from '../../services/common/http.ts';
import { registerValueSchema } from '../../services/lib/registry.ts';
import { schemaText } from '../helpers/datasets.ts';
import { createTestTopic, testKafka, testRegistry } from '../helpers/infra.ts';
import { serviceEnv, startService, waitReady } from '../helpers/services.ts';

const token = 'test-token-0123456789abcdef';

/** Sends raw bytes, returns the status and the parsed body of the first answer. */
async function send(url: string, text: string): Promise<{ status: number; body: unknown }> {
  const { hostname, port } = new URL(url);
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(text);
    });
    let out = '';
    socket.on('data', (data) => {
      out += data.toString('utf8');
    });
    socket.on('end', () => {
      resolve(out);
    });
    // A service that refuses a request early (a too-large body or header) answers and closes while we are still
    // writing; the rest of our bytes then reset the connection. What the service answered before that is its answer.
    socket.on('error', (error) => {
      if (/^HTTP\/1\.1 \d{3}[^]*\r\n\r\n/.test(out)) resolve(out);
      else reject(error);
    });
  });
  const [head = '', ...rest] = answer.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const body = rest.join('\r\n\r\n');
  const chunked = /transfer-encoding: chunked/i.test(head);
  return { status, body: JSON.parse(chunked ? body.replace(/^[0-9a-f]+\r\n|\r\n0\r\n\r\n$/g, '') : body) as unknown };
}

const request = (line: string, headers: Record<string, string> = {}, body?: string): string => {
  const all = {
    host: 'localhost',
    connection: 'close',
    ...headers,
    ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
  };
  return `${line}\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n${body ?? ''}`;
};

test('every bad request gets a documented error body and status, on both services', async (t) => {
  const topic = await createTestTopic(t, testKafka(t), { partitions: 1 });
  await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 2));
  const [ingest, state] = await Promise.all([
    startService(t, 'ingest', serviceEnv([topic], { HOTSTATE_INGEST_TOKEN: token })),
    startService(t, 'state', serviceEnv([topic])),
  ]);
  await waitReady(state);
  const json = { 'content-type': 'application/json' };
  const auth = { ...json, authorization: `Bearer ${token}` };
  const value = '{"instrument":"A","price":1,"currency":"EUR","updatedAt":1,"venue":null}';
  // Sent with the ingest token, so the ingest service's answers are about the request, not the missing token.
  const common = (service: string): Array<[string, string]> => [
    ['unknown route', request('GET /v1/nothing HTTP/1.1', auth)],
    ['unknown method', request('PATCH /v1/datasets HTTP/1.1', auth)],
    ['bad percent-encoding', request(`PUT /v1/datasets/${topic}/records/%FF HTTP/1.1`, auth, value)],
    ['lone surrogate', request(`PUT /v1/datasets/${topic}/records/%ED%A0%80 HTTP/1.1`, auth, value)],
    ['10 KB path segment', request(`PUT /v1/datasets/${topic}/records/${'k'.repeat(10_000)} HTTP/1.1`, auth, value)],
    ['60 KB header', request('GET /v1/datasets HTTP/1.1', { 'x-big': 'a'.repeat(60_000) })],
    ['not HTTP', 'HELLO THERE\r\n\r\n'],
    // Declared, only begun: the service refuses on the declared length. (Sending all 2 MB would race its close:
    // writing into a closed connection fails on our side before we have read the answer.)
    [
      'body too large',
      `${request(`POST /v1/datasets/${topic}/${service === 'ingest' ? 'batch' : 'get'} HTTP/1.1`, { ...auth, 'content-length': '2000000' })}{"keys":["${'x'.repeat(1000)}`,
    ],
  ];
  const cases: Array<[string, string, string]> = [
    ...common('state').map(([name, text]): [string, string, string] => [state.url, `state: ${name}`, text]),
    ...common('ingest').map(([name, text]): [string, string, string] => [ingest.url, `ingest: ${name}`, text]),
    ...(
      [
        ['POST /get with body null', request(`POST /v1/datasets/${topic}/get HTTP/1.1`, json, 'null')],
        ['POST /get with no body', request(`POST /v1/datasets/${topic}/get HTTP/1.1`, json, '')],
        ['POST /get with broken JSON', request(`POST /v1/datasets/${topic}/get HTTP/1.1`, json, '{"keys":')],
        [
          'POST /get with XML',
          request(`POST /v1/datasets/${topic}/get HTTP/1.1`, { 'content-type': 'text/xml' }, '<keys/>'),
        ],
        ['unknown dataset', request('GET /v1/datasets/nope/keys/A HTTP/1.1')],
        ['cursor for an unknown dataset', request('GET /v1/datasets/nope/items?cursor=abc HTTP/1.1')],
        ['expired cursor', request(`GET /v1/datasets/${topic}/items?cursor=abc HTTP/1.1`)],
        ['bad limit', request(`GET /v1/datasets/${topic}/items?limit=0 HTTP/1.1`)],
        ['malformed minVersion', request(`GET /v1/datasets/${topic}/keys/A?minVersion=nope HTTP/1.1`)],
        [
          'minVersion of another topic',
          request(`GET /v1/datasets/${topic}/keys/A?minVersion=hs1.eyJ0Ijoib3RoZXIiLCJwIjp7IjAiOjF9fQ HTTP/1.1`),
        ],
        ['missing key', request(`GET /v1/datasets/${topic}/keys/absent HTTP/1.1`)],
      ] as const
    ).map(([name, text]): [string, string, string] => [state.url, `state: ${name}`, text]),
    ...(
      [
        ['no token', request(`PUT /v1/datasets/${topic}/records/A HTTP/1.1`, json, value)],
        [
          'wrong token',
          request(`PUT /v1/datasets/${topic}/records/A HTTP/1.1`, { ...json, authorization: 'Bearer wrong' }, value),
        ],
        ['batch with body null', request(`POST /v1/datasets/${topic}/batch HTTP/1.1`, auth, 'null')],
        ['batch with no updates', request(`POST /v1/datasets/${topic}/batch HTTP/1.1`, auth, '{"updates":[]}')],
        [
          'batch update without value',
          request(`POST /v1/datasets/${topic}/batch HTTP/1.1`, auth, '{"updates":[{"key":"A"}]}'),
        ],
        [
          'value of the wrong shape',
          request(`PUT /v1/datasets/${topic}/records/A HTTP/1.1`, auth, '{"price":"cheap"}'),
        ],
        [
          'price 1e400',
          request(`PUT /v1/datasets/${topic}/records/A HTTP/1.1`, auth, value.replace('"price":1', '"price":1e400')),
        ],
        ['prototype poisoning', request(`PUT /v1/datasets/${topic}/records/A HTTP/1.1`, auth, '{"__proto__":{"x":1}}')],
        ['2 KB key', request(`PUT /v1/datasets/${topic}/records/${'k'.repeat(2048)} HTTP/1.1`, auth, value)],
        ['unknown dataset', request('PUT /v1/datasets/nope/records/A HTTP/1.1', auth, value)],
      ] as const
    ).map(([name, text]): [string, string, string] => [ingest.url, `ingest: ${name}`, text]),
  ];
  const undocumented: string[] = [];
  for (const [url, name, text] of cases) {
    const { status, body } = await send(url, text);
    const code = (body as { error?: { code?: unknown; message?: unknown } }).error?.code;
    const documented =
      typeof code === 'string' &&
      code in httpStatusByCode &&
      httpStatusByCode[code as keyof typeof httpStatusByCode] === status;
    if (!documented || typeof (body as { error: { message?: unknown } }).error.message !== 'string')
      undocumented.push(`${name}: ${String(status)} ${JSON.stringify(body)}`);
    else t.diagnostic(`${name}: ${String(status)} ${code}`);
  }
  assert.deepEqual(undocumented, []);
});
