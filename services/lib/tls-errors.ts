// Node's TLS verification and handshake failures, found anywhere in an error's causes: a certificate that is not
// trusted or does not name the host, or TLS spoken to a plaintext port. No retry can fix them.
const tlsCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED', 'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'EPROTO',
]);

/** The TLS failure code in `error` or its causes, or undefined. */
export function tlsFailureCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && tlsCodes.has(code)) return code;
  }
  return undefined;
}

export const isTlsFailureCode = (code: unknown): boolean => typeof code === 'string' && tlsCodes.has(code);
