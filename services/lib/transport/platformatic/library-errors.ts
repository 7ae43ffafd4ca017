// The library's failures as HotstateErrors: refusals (credentials, certificates, ACLs) are never retried; any other
// failure names the broker and what the network or the broker said. Decided by codes, never by message text.
import { HotstateError } from '../../errors.ts';
import { errorCauses } from '../../network-errors.ts';
import { kafkaFailureDetail } from './kafka-failure.ts';
import { securityError } from './security-errors.ts';

/** A Kafka request other than produce that failed: nothing was changed by it, it may work when retried. */
export function kafkaError(what: string, error: unknown, brokers: readonly string[] = []): HotstateError {
  if (error instanceof HotstateError) return error;
  const refused = securityError(what, error);
  if (refused) return refused;
  const why = kafkaFailureDetail(error, brokers) ?? (error as Error).message;
  return new HotstateError('HOTSTATE_ERR_TRANSPORT_KAFKA', `${what} failed: ${why}`, { cause: error, retriable: true });
}

/** True when Kafka answered that the topic (or topic id) does not exist. */
export function isUnknownTopic(error: unknown): boolean {
  return [...errorCauses(error)].some(
    (e) => e.apiId === 'UNKNOWN_TOPIC_OR_PARTITION' || e.apiId === 'UNKNOWN_TOPIC_ID',
  );
}
