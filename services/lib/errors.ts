// One error type for the whole library: a stable machine-readable code, a retriable flag and the cause.
// Every code is listed here once and documented in the README's error table.

export const errorCodes = {
  HOTSTATE_ERR_CONFIG_INVALID: 'configuration is missing or invalid',
  HOTSTATE_ERR_TRANSPORT_KAFKA: 'Kafka could not be reached or refused a request',
  HOTSTATE_ERR_TOPIC_NOT_COMPACTED: 'a dataset topic exists but is not a compacted topic',
  HOTSTATE_ERR_REGISTRY_UNAVAILABLE: 'the schema registry could not be reached',
  HOTSTATE_ERR_REGISTRY_REJECTED: 'the schema registry refused a request (for example an incompatible schema)',
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

export function isHotstateError(value: unknown, code?: ErrorCode): value is HotstateError {
  return value instanceof HotstateError && (code === undefined || value.code === code);
}
