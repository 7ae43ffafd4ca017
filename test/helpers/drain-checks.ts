// SIGTERM under traffic, checked the same way for the services as processes and as containers: what was accepted
// is answered and (for writes) in the topic; what came after is refused with the documented 503; exit code 0.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { formatVersionToken, parseVersionToken } from '../../services/lib/version-token.ts';
import { price } from './datasets.ts';
import { testKafka } from './infra.ts';
import { readToEnd } from './read-to-end.ts';
import type { RunningService } from './services.ts';

const refusedByDesign = (status: number, code?: string): boolean =>
  status === 503 && code === 'HOTSTATE_ERR_SERVICE_SHUTTING_DOWN';

/** Writes during SIGTERM to the ingest service; returns how long the shutdown took. */
export async function checkIngestDrains(
  t: TestContext,
  ingest: RunningService,
  topic: string,
  token: string,
): Promise<number> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const outcomes: Array<{ key: string; status: number | 'refused'; code?: string }> = [];
  const fire = async (i: number): Promise<void> => {
    const key = `K${String(i)}`;
    try {
      const response = await fetch(`${ingest.url}/v1/datasets/${topic}/records/${key}`, {
        method: 'PUT',
        headers,
        body: JSON.stringify(price(key)),
      });
      const body = (await response.json()) as { error?: { code: string } };
      outcomes.push({ key, status: response.status, ...(body.error ? { code: body.error.code } : {}) });
    } catch {
      outcomes.push({ key, status: 'refused' }); // not accepted: the server had stopped listening
    }
  };
  const traffic = Array.from(
    { length: 300 },
    (_, i) =>
      new Promise<void>((resolve) => {
        setTimeout(() => {
          void fire(i).then(resolve);
        }, i * 2);
      }),
  );
  await new Promise((resolve) => setTimeout(resolve, 250));
  const started = Date.now();
  const exitCode = await ingest.stop('SIGTERM');
  const shutdownMs = Date.now() - started;
  await Promise.all(traffic);
  assert.equal(exitCode, 0, ingest.output.join('\n'));
  const acknowledged = outcomes.filter((o) => o.status === 200).map((o) => o.key);
  assert.ok(acknowledged.length > 0, 'some writes were accepted before the signal');
  // After the signal, new requests are refused (503 HOTSTATE_ERR_SERVICE_SHUTTING_DOWN, retriable) and never attempted;
  // no request that was accepted may fail.
  assert.deepEqual(
    outcomes.filter((o) => typeof o.status === 'number' && o.status >= 500 && !refusedByDesign(o.status, o.code)),
    [],
  );
  t.diagnostic(
    `${String(acknowledged.length)} acknowledged, ${String(outcomes.filter((o) => o.status === 503).length)} refused with 503, ${String(outcomes.filter((o) => o.status === 'refused').length)} connections refused; shutdown ${String(shutdownMs)} ms`,
  );
  const inTopic = new Set((await readToEnd(testKafka(t), topic)).map((r) => r.key?.toString()));
  assert.deepEqual(
    acknowledged.filter((key) => !inTopic.has(key)),
    [],
    'no acknowledged write lost',
  );
  return shutdownMs;
}

/** Reads during SIGTERM to the state service, some waiting for a write made after the signal; returns the shutdown time. */
export async function checkStateDrains(
  t: TestContext,
  { ingest, state }: { ingest: RunningService; state: RunningService },
  topic: string,
  token: string,
): Promise<number> {
  const write = async (): Promise<string> => {
    const response = await fetch(`${ingest.url}/v1/datasets/${topic}/records/A`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(price('A')),
    });
    return ((await response.json()) as { token: string }).token;
  };
  const written = await write();
  const statuses: Array<number | string> = [];
  const read = async (minVersion: string): Promise<void> => {
    try {
      const r = await fetch(`${state.url}/v1/datasets/${topic}/keys/A?minVersion=${minVersion}`);
      statuses.push(
        r.status === 503 ? `503 ${((await r.json()) as { error: { code: string } }).error.code}` : r.status,
      );
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      statuses.push(`refused (${cause?.code ?? (error as Error).message})`);
    }
  };
  // Reads accepted before the signal that wait for a write made after it: they must be answered, and their
  // keep-alive connections must not hold the shutdown open.
  const { positions } = parseVersionToken(written);
  const next = formatVersionToken({ topic, positions: new Map([...positions].map(([p, offset]) => [p, offset + 1])) });
  const waiting = Array.from({ length: 5 }, () => read(next));
  const reads = Array.from(
    { length: 200 },
    (_, i) =>
      new Promise<void>((resolve) => {
        setTimeout(() => {
          void read(written).finally(resolve);
        }, i * 2);
      }),
  );
  await new Promise((resolve) => setTimeout(resolve, 150));
  const started = Date.now();
  const exited = state.stop('SIGTERM');
  await write();
  const exitCode = await exited;
  const shutdownMs = Date.now() - started;
  await Promise.all([...reads, ...waiting]);
  assert.equal(exitCode, 0, state.output.join('\n'));
  assert.ok(shutdownMs < 8000, `shutdown took ${String(shutdownMs)} ms`);
  assert.ok(statuses.filter((s) => s === 200).length >= 5, `reads answered: ${JSON.stringify(statuses)}`);
  assert.deepEqual(
    statuses.filter((s) =>
      typeof s === 'number' ? s >= 500 : s.startsWith('5') && s !== '503 HOTSTATE_ERR_SERVICE_SHUTTING_DOWN',
    ),
    [],
  );
  return shutdownMs;
}
