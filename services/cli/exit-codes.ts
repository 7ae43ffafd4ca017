// Exit codes of the hotstate CLI; scripts may rely on them (documented in the README).
import { isHotstateError } from '../lib/errors.ts';

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
  /** watch --once: the change would delete too many keys and was held back. */
  heldBack: 5,
  /** get: at least one key does not exist. */
  notFound: 6,
} as const;

export function exitCodeFor(error: unknown): number {
  if (!isHotstateError(error)) return exitCodes.failed;
  switch (error.code) {
    case 'HOTSTATE_ERR_CONFIG_INVALID':
      return exitCodes.usage;
    case 'HOTSTATE_ERR_VALIDATION_VALUE':
    case 'HOTSTATE_ERR_VALIDATION_KEY':
    case 'HOTSTATE_ERR_VALIDATION_SIZE':
    case 'HOTSTATE_ERR_INPUT_MALFORMED':
    case 'HOTSTATE_ERR_REGISTRY_REJECTED':
    case 'HOTSTATE_ERR_REGISTRY_SCHEMA_NOT_FOUND':
    case 'HOTSTATE_ERR_TOPIC_SETTINGS':
      return exitCodes.invalid;
    default:
      return exitCodes.failed;
  }
}
