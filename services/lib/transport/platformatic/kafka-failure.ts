// Why a Kafka request failed, in words an operator can act on: the broker's address and what the network said
// (refused, unknown host, timed out, closed before Kafka answered), or the Kafka error name a broker answered.
// Decided by error codes and fields anywhere in the error's causes, never by message text.
import { errorCauses, socketFailure } from '../../network-errors.ts';

/**
 * One sentence saying why Kafka could not be asked, or undefined when the error holds nothing more precise than its
 * own message. `brokers` are the configured bootstrap addresses (named when the cause has no address of its own).
 */
export function kafkaFailureDetail(error: unknown, brokers: readonly string[]): string | undefined {
  const configured = brokers.join(',');
  const found = new Set<string>();
  let closedEarly = false;
  let timedOut = false;
  for (const e of errorCauses(error)) {
    const socket = socketFailure(e, configured);
    if (socket) found.add(socket);
    else if (typeof e.apiId === 'string') found.add(`the broker answered ${e.apiId}`);
    else if (e.code === 'PLT_KFK_TIMEOUT') timedOut = true;
    else if (e.code === 'PLT_KFK_NETWORK' && e.cause === undefined) closedEarly = true;
  }
  if (found.size > 0) return [...found].join('; ');
  if (timedOut)
    return `no answer from ${configured} in time (a broker that is down or overloaded, or a firewall dropping packets)`;
  if (closedEarly)
    return `${configured} closed the connection before answering (not a Kafka listener, or one that expects TLS or SASL this client was not configured for)`;
  // Nothing known: the innermost messages say more than the library's summary ("Listing topics failed.").
  const leaves = new Set(
    [...errorCauses(error)]
      .filter((e) => e.cause === undefined && !Array.isArray(e.errors))
      .map((e) => String((e as { message?: unknown }).message)),
  );
  return leaves.size > 0 ? `${[...leaves].slice(0, 3).join('; ')} (brokers ${configured})` : undefined;
}
