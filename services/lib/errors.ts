// One error type for the whole library: a stable machine-readable code, a retriable flag and the cause.
// Every code is listed here once, follows HOTSTATE_ERR_<AREA>_<WHAT>, and is documented in the error
// table (docs/errors.md) with its HTTP status (services/common/http.ts) and exit code (services/common/exit-codes.ts).

export const errorCodes = {
  HOTSTATE_ERR_CONFIG_INVALID: 'configuration is missing or invalid',
  HOTSTATE_ERR_TRANSPORT_KAFKA:
    'Kafka could not be reached or refused a request; a write with this code was certainly not written',
  HOTSTATE_ERR_TRANSPORT_UNCERTAIN:
    'a write failed after it may have reached Kafka: it may or may not have been written (read the topic or retry; retries may duplicate)',
  HOTSTATE_ERR_TRANSPORT_AUTHENTICATION:
    'Kafka refused the connection: wrong SASL credentials or mechanism, a broker certificate the configured CA does not trust or that does not name the host, or TLS against a plaintext listener (never retried)',
  HOTSTATE_ERR_TRANSPORT_DENIED:
    'Kafka refused a request for lack of an ACL (topic, group or cluster authorization failed; never retried)',
  HOTSTATE_ERR_TRANSPORT_TIMEOUT: 'Kafka did not acknowledge a write in time; the write may or may not have happened',
  HOTSTATE_ERR_TOPIC_SETTINGS: 'a dataset topic has settings that would lose data or break keyed partitioning',
  HOTSTATE_ERR_REGISTRY_UNAVAILABLE: 'the schema registry could not be reached',
  HOTSTATE_ERR_CONNECT_UNAVAILABLE: 'Kafka Connect (hotstate cdc) could not be reached or failed a request',
  HOTSTATE_ERR_REGISTRY_AUTHENTICATION:
    'the schema registry refused the credentials (401/403) or its TLS certificate is not trusted (never retried)',
  HOTSTATE_ERR_REGISTRY_MISADDRESSED:
    'the schema registry URL does not serve the Confluent schema-registry API (a missing /apis/ccompat/v7 path, another service on that port, or http:// against an https:// registry); never retried',
  HOTSTATE_ERR_REGISTRY_REJECTED: 'the schema registry refused a request (for example an incompatible schema)',
  HOTSTATE_ERR_REGISTRY_SCHEMA_NOT_FOUND: 'the subject or schema is not registered',
  HOTSTATE_ERR_VALIDATION_VALUE: 'a value does not match its schema (every failing field is listed)',
  HOTSTATE_ERR_VALIDATION_KEY: 'a key is empty, not valid UTF-8 or too long',
  HOTSTATE_ERR_VALIDATION_SIZE: 'an encoded value is larger than the configured cap',
  HOTSTATE_ERR_INPUT_MALFORMED: 'an input file or line could not be parsed',
  HOTSTATE_ERR_LIFECYCLE_CLOSED: 'the producer or view was used after close()',
  HOTSTATE_ERR_LIFECYCLE_NOT_STARTED: 'the producer was used before connect() finished',
  HOTSTATE_ERR_SERIALIZATION_DECODE: 'stored bytes could not be decoded with their writer schema',
  HOTSTATE_ERR_WAIT_TIMEOUT: 'the view did not reach the requested version in time',
  HOTSTATE_ERR_COMMAND_TIMEOUT:
    'a CLI command did not finish within --timeout; the message names what it was waiting for',
  HOTSTATE_ERR_TOKEN_MALFORMED: 'a version token that is not one hotstate made (wrong prefix, encoding or content)',
  HOTSTATE_ERR_TOKEN_TOPIC: 'a version token names another topic than the view',
  HOTSTATE_ERR_RESOURCE_NOT_FOUND: 'no such dataset, key, route or topic',
  HOTSTATE_ERR_VIEW_NOT_READY:
    'the dataset is not ready (replaying, failed on a poison record, or waiting for the registry)',
  HOTSTATE_ERR_SERVICE_UNREACHABLE: 'a hotstate service did not answer (hotstate top)',
  HOTSTATE_ERR_SERVICE_SHUTTING_DOWN: 'the service is shutting down; retry against another instance',
  HOTSTATE_ERR_AUTH_REQUIRED:
    'a request without a valid bearer token (writes; reads when the state service requires a token; operator endpoints)',
  HOTSTATE_ERR_AUTH_FORBIDDEN: 'a valid bearer token that is not allowed for this dataset',
  HOTSTATE_ERR_HTTP_BODY_TOO_LARGE: 'a request body above the configured limit',
  HOTSTATE_ERR_HTTP_HEADERS_TOO_LARGE: "request headers (or the URL) above the HTTP server's limit (16 KiB)",
  HOTSTATE_ERR_HTTP_REQUEST_TIMEOUT: 'the client did not send a whole request in time',
  HOTSTATE_ERR_SERVER_INTERNAL: 'an unexpected server error (details only in the service log)',
  HOTSTATE_ERR_FEED_LIMIT_REACHED:
    'this instance already serves its maximum of concurrent change feeds (HOTSTATE_MAX_FEEDS)',
  HOTSTATE_ERR_FEED_RESYNC_NEEDED:
    'a change feed was asked for a version older than the service still holds; list again and follow from the listing version',
  HOTSTATE_ERR_LIST_CURSOR_EXPIRED: 'a list cursor that expired or never existed; list again from the start',
  HOTSTATE_ERR_SNAPSHOT_UNUSABLE:
    "a snapshot file that cannot be used: not a snapshot, an unknown format version, corrupt or truncated, too old for the topic's delete.retention.ms, or of another topic",
  HOTSTATE_ERR_VIEW_PINNED:
    'the dataset is pinned to an older version by an operator: a read asking for a newer version (minVersion) is refused until it is unpinned',
  HOTSTATE_ERR_VERSION_UNREACHABLE:
    'a version that cannot be rebuilt exactly from the topic: older than the rollback window (min.compaction.lag.ms) with no snapshot file covering it, beyond the end of the topic, or of another incarnation of it',
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface HotstateErrorOptions {
  readonly retriable?: boolean;
  readonly cause?: unknown;
}

export class HotstateError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: HotstateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HotstateError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** What a problem is about: decides the error code, so no decision reads the prose of `reason`. */
export type ProblemKind = 'key' | 'size' | 'value' | 'input';

/** One problem of a rejected input: where (record index, key, field path) and why. */
export interface Problem {
  /** @defaultValue `value` */
  readonly kind?: ProblemKind;
  /** Position in a batch or line number in a file, when there is one. */
  readonly at?: number;
  readonly key?: string;
  /** Field path such as `prices[2].currency`; empty for the whole value. */
  readonly path: string;
  readonly reason: string;
}

export const formatProblem = (p: Problem): string =>
  [
    p.at === undefined ? '' : `#${String(p.at)}`,
    p.key === undefined ? '' : `key ${JSON.stringify(p.key)}`,
    p.path ? `field ${p.path}` : '',
  ]
    .filter(Boolean)
    .join(' ') + `: ${p.reason}`;

/** A rejected input; `problems` lists every failing record and field, nothing of the call was sent. */
export class ValidationError extends HotstateError {
  readonly problems: readonly Problem[];

  constructor(code: ErrorCode, problems: readonly Problem[], what = 'input') {
    const shown = problems.slice(0, 20).map(formatProblem);
    const more = problems.length > shown.length ? `\n  ... and ${String(problems.length - shown.length)} more` : '';
    super(code, `${what} rejected, nothing was sent:\n  ${shown.join('\n  ')}${more}`);
    this.name = 'ValidationError';
    this.problems = problems;
  }
}

export function isHotstateError(value: unknown, code?: ErrorCode): value is HotstateError {
  return value instanceof HotstateError && (code === undefined || value.code === code);
}
