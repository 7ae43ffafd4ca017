// Exit codes of the hotstate CLI and of the services' start-up refusals; scripts may rely on them (docs/cli.md, docs/errors.md).
import { isHotstateError, type ErrorCode } from '../lib/errors.ts';

export const exitCodes = {
  ok: 0,
  /** Kafka or the registry failed or was unreachable; the summary says what was acknowledged before. */
  failed: 1,
  /** Bad command line or configuration. */
  usage: 2,
  /** Invalid input (lines, values, schemas, topic settings): nothing was sent. */
  invalid: 3,
  /** --skip-invalid: the valid lines were sent, the invalid ones reported. */
  partial: 4,
  /** watch --once, sync, rollback: the change would delete too many keys and was held back, or was not confirmed. */
  heldBack: 5,
  /** get: at least one key does not exist. */
  notFound: 6,
  /** diff, rollback: a version beyond the rollback window that no snapshot file covers. */
  unreachable: 7,
  /** A one-shot command did not finish within --timeout (the message names what it waited for). */
  timedOut: 8,
} as const;

/** The exit code of every error code (docs/errors.md shows the same). */
export const exitCodeByCode: Readonly<Record<ErrorCode, number>> = {
  HOTSTATE_ERR_CONFIG_INVALID: exitCodes.usage,
  HOTSTATE_ERR_REGISTRY_MISADDRESSED: exitCodes.usage,
  HOTSTATE_ERR_TOKEN_MALFORMED: exitCodes.usage,
  HOTSTATE_ERR_TOKEN_TOPIC: exitCodes.usage,
  HOTSTATE_ERR_VALIDATION_VALUE: exitCodes.invalid,
  HOTSTATE_ERR_VALIDATION_KEY: exitCodes.invalid,
  HOTSTATE_ERR_VALIDATION_SIZE: exitCodes.invalid,
  HOTSTATE_ERR_INPUT_MALFORMED: exitCodes.invalid,
  HOTSTATE_ERR_REGISTRY_REJECTED: exitCodes.invalid,
  HOTSTATE_ERR_REGISTRY_SCHEMA_NOT_FOUND: exitCodes.invalid,
  HOTSTATE_ERR_TOPIC_SETTINGS: exitCodes.invalid,
  HOTSTATE_ERR_RESOURCE_NOT_FOUND: exitCodes.failed,
  HOTSTATE_ERR_TRANSPORT_KAFKA: exitCodes.failed,
  HOTSTATE_ERR_TRANSPORT_UNCERTAIN: exitCodes.failed,
  HOTSTATE_ERR_TRANSPORT_TIMEOUT: exitCodes.failed,
  HOTSTATE_ERR_TRANSPORT_AUTHENTICATION: exitCodes.failed,
  HOTSTATE_ERR_TRANSPORT_DENIED: exitCodes.failed,
  HOTSTATE_ERR_REGISTRY_AUTHENTICATION: exitCodes.failed,
  HOTSTATE_ERR_REGISTRY_UNAVAILABLE: exitCodes.failed,
  HOTSTATE_ERR_CONNECT_UNAVAILABLE: exitCodes.failed,
  HOTSTATE_ERR_SERIALIZATION_DECODE: exitCodes.failed,
  HOTSTATE_ERR_WAIT_TIMEOUT: exitCodes.failed,
  HOTSTATE_ERR_COMMAND_TIMEOUT: exitCodes.timedOut,
  HOTSTATE_ERR_VIEW_NOT_READY: exitCodes.failed,
  HOTSTATE_ERR_LIFECYCLE_CLOSED: exitCodes.failed,
  HOTSTATE_ERR_LIFECYCLE_NOT_STARTED: exitCodes.failed,
  HOTSTATE_ERR_SERVICE_SHUTTING_DOWN: exitCodes.failed,
  HOTSTATE_ERR_SERVICE_UNREACHABLE: exitCodes.failed,
  HOTSTATE_ERR_AUTH_REQUIRED: exitCodes.failed,
  HOTSTATE_ERR_AUTH_FORBIDDEN: exitCodes.failed,
  HOTSTATE_ERR_HTTP_BODY_TOO_LARGE: exitCodes.failed,
  HOTSTATE_ERR_HTTP_HEADERS_TOO_LARGE: exitCodes.failed,
  HOTSTATE_ERR_HTTP_REQUEST_TIMEOUT: exitCodes.failed,
  HOTSTATE_ERR_SERVER_INTERNAL: exitCodes.failed,
  HOTSTATE_ERR_FEED_LIMIT_REACHED: exitCodes.failed,
  HOTSTATE_ERR_FEED_RESYNC_NEEDED: exitCodes.failed,
  HOTSTATE_ERR_LIST_CURSOR_EXPIRED: exitCodes.failed,
  HOTSTATE_ERR_SNAPSHOT_UNUSABLE: exitCodes.failed,
  HOTSTATE_ERR_VIEW_PINNED: exitCodes.failed,
  HOTSTATE_ERR_VERSION_UNREACHABLE: exitCodes.unreachable,
};

export function exitCodeFor(error: unknown): number {
  return isHotstateError(error) ? exitCodeByCode[error.code] : exitCodes.failed;
}
