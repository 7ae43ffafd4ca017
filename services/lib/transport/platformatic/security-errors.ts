// Kafka refusals that no retry can fix: wrong credentials, a certificate the client does not trust, a TLS/plaintext
// mismatch, a missing ACL. Found by error codes anywhere in the error's causes, never by message text, so callers
// fail fast with a clear, non-retriable error instead of retrying in a loop. Messages never carry secrets: they
// name the mechanism, the principal's rights and the broker's code, not the password.
import { HotstateError } from '../../errors.ts';
import { isTlsFailureCode, tlsFailureWords } from '../../tls-errors.ts';
import { errorCauses } from '../../network-errors.ts';

export interface SecurityFailure {
  readonly kind: 'authentication' | 'authorization';
  readonly detail: string;
}

/** Kafka error codes: TOPIC_, GROUP_, CLUSTER_, TRANSACTIONAL_ID_AUTHORIZATION_FAILED. */
const authorizationCodes = new Map([
  [29, 'TOPIC_AUTHORIZATION_FAILED'],
  [30, 'GROUP_AUTHORIZATION_FAILED'],
  [31, 'CLUSTER_AUTHORIZATION_FAILED'],
  [53, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'],
]);
/** SASL_AUTHENTICATION_FAILED, ILLEGAL_SASL_STATE, UNSUPPORTED_SASL_MECHANISM. */
const authenticationCodes = new Map([
  [58, 'SASL_AUTHENTICATION_FAILED'],
  [34, 'ILLEGAL_SASL_STATE'],
  [33, 'UNSUPPORTED_SASL_MECHANISM'],
]);

export function securityFailure(error: unknown): SecurityFailure | undefined {
  for (const e of errorCauses(error) as Iterable<Record<string, unknown>>) {
    const apiCode =
      typeof e.apiCode === 'number' ? e.apiCode : typeof e.errorCode === 'number' ? e.errorCode : undefined;
    if (apiCode !== undefined && authorizationCodes.has(apiCode))
      return {
        kind: 'authorization',
        detail: `the broker answered ${authorizationCodes.get(apiCode) ?? ''}: this principal lacks an ACL for it`,
      };
    if (apiCode !== undefined && authenticationCodes.has(apiCode))
      return {
        kind: 'authentication',
        detail: `the broker answered ${authenticationCodes.get(apiCode) ?? ''}: wrong username or password, or a mechanism it does not enable`,
      };
    if (e.code === 'PLT_KFK_AUTHENTICATION')
      return {
        kind: 'authentication',
        detail: 'SASL authentication failed (no common mechanism, or the broker refused the credentials)',
      };
    if (isTlsFailureCode(e.code))
      return {
        kind: 'authentication',
        detail: `TLS handshake with the broker failed (${e.code}): ${tlsFailureWords(e.code)}`,
      };
  }
  return undefined;
}

/** A HotstateError for a security failure while `what`, or undefined when `error` is not one. */
export function securityError(what: string, error: unknown): HotstateError | undefined {
  const failure = securityFailure(error);
  if (!failure) return undefined;
  return new HotstateError(
    failure.kind === 'authentication' ? 'HOTSTATE_ERR_TRANSPORT_AUTHENTICATION' : 'HOTSTATE_ERR_TRANSPORT_DENIED',
    `${what} failed: ${failure.detail}`,
    { cause: error, retriable: false },
  );
}

/** Kafka error code numbers of refused authorization, for per-partition answers. */
export const isAuthorizationCode = (code: number): boolean => authorizationCodes.has(code);
