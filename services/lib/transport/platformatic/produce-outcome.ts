// What a produce answer proves. A record is acknowledged only when its partition is in an answer exactly once with a
// valid offset; a failure is "not written" only when every attempt was refused before the broker could have
// appended anything, otherwise its outcome is unknown.
import { securityError } from './security-errors.ts';
import { HotstateError } from '../../errors.ts';
import type { ProduceRecord, RecordOutcome } from '../transport.ts';

/** Broker answers that refuse a batch before it is appended (Kafka's produce error codes, by name). */
const REFUSED_BEFORE_APPEND = new Set([
  'CORRUPT_MESSAGE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'NOT_ENOUGH_REPLICAS',
  'INVALID_REQUIRED_ACKS',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'INVALID_RECORD',
  'UNKNOWN_PRODUCER_ID',
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_EPOCH',
  'FENCED_LEADER_EPOCH',
  'KAFKA_STORAGE_ERROR',
  'INVALID_TIMESTAMP',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'POLICY_VIOLATION',
]);

/** Socket errors that mean the connection never came up, so no request was sent on it. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

interface ErrorFields {
  readonly apiId?: unknown;
  readonly canRetry?: unknown;
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
  for (
    let cause: unknown = leaf.cause;
    typeof cause === 'object' && cause !== null;
    cause = (cause as ErrorFields).cause
  ) {
    const { code } = cause as ErrorFields;
    if (typeof code === 'string' && NOT_CONNECTED.has(code)) return true;
  }
  return false;
}

const MAX_ATTEMPTS = 8;

type Answer = ReadonlyArray<{ topic: string; partition: number; offset: bigint }>;

/**
 * The attempts of one send, per partition (a partition's records travel as one batch, so they share their fate).
 * A partition is acknowledged only by a checked answer. Its outcome is "not written" only when every attempt that
 * carried it was refused before the broker could append anything; one attempt that may have reached a broker makes
 * it "unknown" for good.
 */
export class ProduceAttempts {
  private readonly topic: string;
  private readonly records: readonly ProduceRecord[];
  private readonly base = new Map<number, number>();
  private readonly uncertain = new Set<number>();
  private readonly malformed = new Map<number, string>();
  private last: unknown;
  /** Set when Kafka refused the credentials or an ACL: nothing was written, and retrying cannot help. */
  private refused: HotstateError | undefined;
  count = 0;

  constructor(topic: string, records: readonly ProduceRecord[]) {
    this.topic = topic;
    this.records = records;
  }

  /** Partitions still to be written. */
  pending(): Set<number> {
    return new Set(this.records.map((r) => r.partition).filter((p) => !this.base.has(p) && !this.malformed.has(p)));
  }

  /** Takes the base offsets of answered partitions; a wrong answer is never an acknowledgement. */
  answered(answer: Answer): void {
    const pending = this.pending();
    const seen = new Set<number>();
    for (const { topic, partition, offset } of answer) {
      const problem =
        topic !== this.topic
          ? `answers for topic ${topic}`
          : seen.has(partition)
            ? `answers partition ${String(partition)} twice`
            : !pending.has(partition)
              ? `answers partition ${String(partition)}, which it was not sent`
              : offset < 0n
                ? `gives offset ${String(offset)} for partition ${String(partition)}`
                : undefined;
      seen.add(partition);
      if (problem === undefined) this.base.set(partition, Number(offset));
      else if (pending.has(partition)) {
        this.base.delete(partition); // an answer that contradicts itself acknowledges nothing
        this.malformed.set(partition, problem);
      }
    }
  }

  /** Records a failed attempt; returns the delay before the next one, or undefined when there is none. */
  failed(error: unknown): number | undefined {
    this.count++;
    this.last = error;
    this.refused = securityError(`writing to ${this.topic}`, error);
    if (this.refused) return undefined;
    const all = leaves(error);
    if (all.length === 0 || !all.every(refusedBeforeSending)) for (const p of this.pending()) this.uncertain.add(p);
    const retriable = all.length > 0 && all.every((leaf) => leaf.canRetry !== false);
    return retriable && this.count < MAX_ATTEMPTS && this.pending().size > 0
      ? Math.min(100 * 2 ** (this.count - 1), 2000)
      : undefined;
  }

  /**
   * Each record's outcome, in input order; records of one partition get consecutive offsets from its base.
   * `expired`: the send ran out of time, so a record that may have been written reports a timeout.
   */
  outcomes(expired = false): RecordOutcome[] {
    const next = new Map<number, number>();
    return this.records.map((r): RecordOutcome => {
      const first = this.base.get(r.partition);
      if (first !== undefined) {
        const index = next.get(r.partition) ?? 0;
        next.set(r.partition, index + 1);
        return { ok: true, offset: first + index };
      }
      return { ok: false, error: this.errorFor(r.partition, expired) };
    });
  }

  private errorFor(partition: number, expired: boolean): HotstateError {
    if (this.refused) return this.refused;
    const problem = this.malformed.get(partition);
    if (problem !== undefined) {
      return new HotstateError(
        'HOTSTATE_ERR_TRANSPORT_UNCERTAIN',
        `the produce answer for partition ${String(partition)} of ${this.topic} ${problem}; its records may or may not have been written`,
        { retriable: true },
      );
    }
    const detail =
      this.last instanceof Error
        ? `${this.last.message} (${String(this.count)} attempt(s))`
        : 'no answer for its partition';
    if (expired && (this.uncertain.has(partition) || this.count === 0)) {
      return new HotstateError(
        'HOTSTATE_ERR_TRANSPORT_TIMEOUT',
        `Kafka did not acknowledge the records for partition ${String(partition)} of ${this.topic} in time; they may or may not have been written: ${detail}`,
        { cause: this.last, retriable: true },
      );
    }
    return this.uncertain.has(partition) || this.count === 0
      ? new HotstateError(
          'HOTSTATE_ERR_TRANSPORT_UNCERTAIN',
          `writing to partition ${String(partition)} of ${this.topic} failed and its records may or may not have been written: ${detail}`,
          { cause: this.last, retriable: true },
        )
      : new HotstateError(
          'HOTSTATE_ERR_TRANSPORT_KAFKA',
          `records for partition ${String(partition)} of ${this.topic} were not written: ${detail}`,
          { cause: this.last, retriable: true },
        );
  }
}
