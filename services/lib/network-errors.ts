// Socket failures in words: what Node's socket error codes mean for someone who configured an address, found
// anywhere in an error's causes (by code, never by message text). Used for Kafka and the registry alike.

const socketWords: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused (nothing listens there: is the server running, and is this its port?)',
  ENOTFOUND: 'unknown host name',
  EAI_AGAIN: 'the host name could not be looked up',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset by the other side',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed while sending',
  UND_ERR_SOCKET: 'the other side closed the connection without an HTTP answer (does it expect https://?)',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

export interface ErrorCause {
  readonly code?: unknown;
  readonly address?: unknown;
  readonly port?: unknown;
  readonly hostname?: unknown;
  readonly apiId?: unknown;
  readonly cause?: unknown;
  readonly errors?: unknown;
  readonly aggregateErrors?: unknown;
}

/** The error, its causes and the errors it aggregates (`errors`, the Kafka library's `aggregateErrors`), depth first. */
export function* errorCauses(error: unknown, depth = 0): Generator<ErrorCause> {
  if (typeof error !== 'object' || error === null || depth > 8) return;
  const e = error as ErrorCause;
  yield e;
  yield* errorCauses(e.cause, depth + 1);
  for (const list of [e.errors, e.aggregateErrors])
    if (Array.isArray(list)) for (const inner of list) yield* errorCauses(inner, depth + 1);
}

/** "address: what happened" for a socket failure in `e` itself, or undefined. `fallback` names the address when the error does not. */
export function socketFailure(e: ErrorCause, fallback: string): string | undefined {
  if (typeof e.code !== 'string' || !(e.code in socketWords)) return undefined;
  const where =
    typeof e.address === 'string'
      ? `${e.address}:${String(e.port)}`
      : typeof e.hostname === 'string'
        ? e.hostname
        : fallback;
  return `${where}: ${socketWords[e.code] ?? e.code}`;
}

/** The first socket failure anywhere in `error`'s causes, or undefined. */
export function firstSocketFailure(error: unknown, fallback: string): string | undefined {
  for (const e of errorCauses(error)) {
    const found = socketFailure(e, fallback);
    if (found) return found;
  }
  return undefined;
}
