// What a produce answer proves. An acknowledgement counts only when every partition of the request is in the
// answer exactly once with a valid offset; a failure is "not written" only when every attempt was refused before
// the broker could have appended anything, otherwise its outcome is unknown.
import { HotstateError } from '../errors.ts';
import type { ProduceRecord } from './transport.ts';

/** Broker answers that refuse a batch before it is appended (Kafka's produce error codes, by name). */
const REFUSED_BEFORE_APPEND = new Set([
  'CORRUPT_MESSAGE', 'UNKNOWN_TOPIC_OR_PARTITION', 'NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE', 'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE', 'NOT_ENOUGH_REPLICAS', 'INVALID_REQUIRED_ACKS', 'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 'INVALID_RECORD', 'UNKNOWN_PRODUCER_ID',
  'OUT_OF_ORDER_SEQUENCE_NUMBER', 'INVALID_PRODUCER_EPOCH', 'FENCED_LEADER_EPOCH', 'KAFKA_STORAGE_ERROR',
  'INVALID_TIMESTAMP', 'UNSUPPORTED_FOR_MESSAGE_FORMAT', 'POLICY_VIOLATION',
]);

/** Socket errors that mean the connection never came up, so no request was sent on it. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

interface ErrorFields {
  readonly apiId?: unknown;
  readonly code?: unknown;
  readonly errors?: unknown;
  readonly cause?: unknown;
}

/** The innermost errors of an error tree (aggregates of attempts and of destinations). */
function leaves(error: unknown): ErrorFields[] {
  if (typeof error !== 'object' || error === null) return [];
  const fields = error as ErrorFields;
  return Array.isArray(fields.errors) && fields.errors.length > 0 ? fields.errors.flatMap(leaves) : [fields];
}

/** True when this attempt was refused by the broker before appending, or never left this process. */
function refusedBeforeSending(leaf: ErrorFields): boolean {
  if (typeof leaf.apiId === 'string') return REFUSED_BEFORE_APPEND.has(leaf.apiId);
  for (let cause: unknown = leaf.cause; typeof cause === 'object' && cause !== null; cause = (cause as ErrorFields).cause) {
    const { code } = cause as ErrorFields;
    if (typeof code === 'string' && NOT_CONNECTED.has(code)) return true;
  }
  return false;
}

export function classifyProduceFailure(topic: string, count: number, error: unknown): HotstateError {
  const all = leaves(error);
  const notWritten = all.length > 0 && all.every(refusedBeforeSending);
  const detail = (error as Error).message;
  return notWritten
    ? new HotstateError('HOTSTATE_ERR_TRANSPORT_KAFKA', `${String(count)} record(s) to ${topic} were not written: ${detail}`, { cause: error, retriable: true })
    : new HotstateError('HOTSTATE_ERR_TRANSPORT_UNCERTAIN', `sending ${String(count)} record(s) to ${topic} failed and they may or may not have been written: ${detail}`, { cause: error, retriable: true });
}

/**
 * Offsets of each record, in input order, from the per-partition base offsets of the answer. Records of one
 * partition travel as one batch, so their offsets are consecutive from the base.
 */
export function offsetsOf(topic: string, records: readonly ProduceRecord[], answer: ReadonlyArray<{ topic: string; partition: number; offset: bigint }>): number[] {
  const base = new Map<number, number>();
  for (const { topic: answered, partition, offset } of answer) {
    const problem = answered !== topic ? `answers for topic ${answered}`
      : base.has(partition) ? `answers partition ${String(partition)} twice`
        : offset < 0n ? `gives offset ${String(offset)} for partition ${String(partition)}` : undefined;
    if (problem !== undefined) throw malformed(topic, records.length, problem);
    base.set(partition, Number(offset));
  }
  const seen = new Map<number, number>();
  return records.map((r) => {
    const first = base.get(r.partition);
    if (first === undefined) throw malformed(topic, records.length, `has no answer for partition ${String(r.partition)}`);
    const index = seen.get(r.partition) ?? 0;
    seen.set(r.partition, index + 1);
    return first + index;
  });
}

function malformed(topic: string, count: number, problem: string): HotstateError {
  return new HotstateError('HOTSTATE_ERR_TRANSPORT_UNCERTAIN', `the produce answer for ${String(count)} record(s) to ${topic} ${problem}; they may or may not have been written`, { retriable: true });
}
