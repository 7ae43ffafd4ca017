// What a produce answer or failure proves, per record: acknowledged only by a checked answer for its partition;
// "not written" only when every attempt was refused before the broker could append; otherwise "unknown".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProduceAttempts } from '../../services/lib/transport/platformatic/produce-outcome.ts';
import type { RecordOutcome } from '../../services/lib/transport/transport.ts';

const records = [0, 1, 0, 2].map((partition, i) => ({ partition, key: Buffer.from(`k${String(i)}`), value: null }));
const answer = (
  partition: number,
  offset: bigint,
  topic = 't',
): { topic: string; partition: number; offset: bigint } => ({ topic, partition, offset });
const summary = (outcomes: RecordOutcome[]): Array<number | string> =>
  outcomes.map((o) => (o.ok ? o.offset : o.error.code));

// Error shapes as @platformatic/kafka makes them: aggregates with `errors`, broker errors with `apiId`, socket
// errors as a cause with `code`.
const refused = { apiId: 'NOT_LEADER_OR_FOLLOWER', canRetry: true };
const notConnected = { code: 'PLT_KFK_NETWORK', canRetry: true, cause: { code: 'ECONNREFUSED' } };
const connectionClosed = { code: 'PLT_KFK_NETWORK', canRetry: true, message: 'Connection closed' };
const aggregate = (...errors: object[]): object => Object.assign(new Error('Producing messages failed.'), { errors });

test('a full answer acknowledges every record, consecutive offsets per partition', () => {
  const attempts = new ProduceAttempts('t', records);
  attempts.answered([answer(0, 10n), answer(1, 5n), answer(2, 0n)]);
  assert.deepEqual(summary(attempts.outcomes()), [10, 5, 11, 0]);
});

test('a partition missing from the answer, answered twice or with a negative offset is never acknowledged', () => {
  const attempts = new ProduceAttempts('t', records);
  attempts.answered([answer(0, 10n), answer(1, 5n), answer(1, 6n)]);
  assert.deepEqual(summary(attempts.outcomes()), [
    10,
    'HOTSTATE_ERR_TRANSPORT_UNCERTAIN',
    11,
    'HOTSTATE_ERR_TRANSPORT_UNCERTAIN',
  ]);
  const negative = new ProduceAttempts('t', records);
  negative.answered([answer(0, -1n), answer(1, 1n), answer(2, 1n)]);
  assert.equal(summary(negative.outcomes())[0], 'HOTSTATE_ERR_TRANSPORT_UNCERTAIN');
});

test('refused before sending on every attempt: not written; one attempt that may have landed: unknown for good', () => {
  const refusedOnly = new ProduceAttempts('t', records);
  assert.ok(refusedOnly.failed(aggregate(refused, notConnected)) !== undefined, 'retriable');
  refusedOnly.failed(aggregate(notConnected));
  assert.deepEqual(new Set(summary(refusedOnly.outcomes())), new Set(['HOTSTATE_ERR_TRANSPORT_KAFKA']));

  const landedMaybe = new ProduceAttempts('t', records);
  landedMaybe.failed(aggregate(connectionClosed));
  landedMaybe.failed(aggregate(refused));
  assert.deepEqual(new Set(summary(landedMaybe.outcomes())), new Set(['HOTSTATE_ERR_TRANSPORT_UNCERTAIN']));
});

test('a partial failure acknowledges the partitions whose leader answered and retries only the others', () => {
  const attempts = new ProduceAttempts('t', records);
  attempts.answered([answer(0, 3n), answer(2, 7n)]);
  attempts.failed(aggregate(notConnected));
  assert.deepEqual([...attempts.pending()], [1]);
  attempts.answered([answer(1, 9n)]);
  assert.deepEqual(summary(attempts.outcomes()), [3, 9, 4, 7]);
});

test('a non-retriable refusal stops at once', () => {
  const attempts = new ProduceAttempts('t', records);
  assert.equal(attempts.failed(aggregate({ apiId: 'MESSAGE_TOO_LARGE', canRetry: false })), undefined);
  assert.equal(summary(attempts.outcomes())[0], 'HOTSTATE_ERR_TRANSPORT_KAFKA');
});
