// Node's TLS verification and handshake failures, found anywhere in an error's causes: every certificate
// verification code OpenSSL reports through Node, hostname mismatches, and TLS spoken to a plaintext port. No retry
// can fix them; each gets words that say what to fix.

const untrusted = 'is not trusted by the configured CA (pass the CA that signed it)';
const badSignature =
  'does not verify against the configured CA: a CA with the right name but another key, or a tampered certificate';
const badDates = 'is outside its validity dates (expired or not yet valid; check the clocks too)';
const notTls =
  'the other side does not speak TLS: the URL or listener is plaintext (use http:// or a PLAINTEXT/SASL_PLAINTEXT listener)';

/** Certificate verification codes (Node's tls docs, "X509 certificate error codes") and handshake codes. */
const tlsWords: Readonly<Record<string, string>> = {
  UNABLE_TO_GET_ISSUER_CERT: `its certificate ${untrusted}`,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: `its certificate ${untrusted}`,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: `its certificate ${untrusted}`,
  SELF_SIGNED_CERT_IN_CHAIN: `its certificate chain ends in a self-signed CA that ${untrusted.replace('is not', 'is not itself')}`,
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed and not the configured CA',
  CERT_UNTRUSTED: `its certificate ${untrusted}`,
  CERT_REJECTED: 'its certificate was rejected for the purpose it was used for',
  INVALID_CA: 'a certificate in its chain is not a valid CA',
  INVALID_PURPOSE: 'its certificate may not be used by a TLS server',
  CERT_CHAIN_TOO_LONG: 'its certificate chain is too long',
  PATH_LENGTH_EXCEEDED: 'its certificate chain is longer than a CA allows',
  CERT_REVOKED: 'its certificate was revoked',
  CERT_SIGNATURE_FAILURE: `its certificate ${badSignature}`,
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: `its certificate ${badSignature}`,
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: "the key of its certificate's issuer cannot be read",
  CERT_HAS_EXPIRED: `its certificate ${badDates}`,
  CERT_NOT_YET_VALID: `its certificate ${badDates}`,
  ERROR_IN_CERT_NOT_BEFORE_FIELD: `its certificate ${badDates}`,
  ERROR_IN_CERT_NOT_AFTER_FIELD: `its certificate ${badDates}`,
  UNABLE_TO_GET_CRL: 'the revocation list of its certificate is not available',
  CRL_SIGNATURE_FAILURE: 'the revocation list of its certificate does not verify',
  UNABLE_TO_DECRYPT_CRL_SIGNATURE: 'the revocation list of its certificate does not verify',
  CRL_NOT_YET_VALID: 'the revocation list of its certificate is outside its validity dates',
  CRL_HAS_EXPIRED: 'the revocation list of its certificate is outside its validity dates',
  ERROR_IN_CRL_LAST_UPDATE_FIELD: 'the revocation list of its certificate is malformed',
  ERROR_IN_CRL_NEXT_UPDATE_FIELD: 'the revocation list of its certificate is malformed',
  HOSTNAME_MISMATCH: 'its certificate does not name the host it was reached at',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate does not name the host it was reached at',
  ERR_SSL_WRONG_VERSION_NUMBER: notTls,
  ERR_SSL_PACKET_LENGTH_TOO_LONG: notTls,
  EPROTO: 'the TLS handshake failed (the other side may not speak TLS)',
};

const isTlsCode = (code: unknown): code is string =>
  typeof code === 'string' && (code in tlsWords || code.startsWith('ERR_SSL_'));

/** The TLS failure code in `error` or its causes, or undefined. */
export function tlsFailureCode(error: unknown): string | undefined {
  for (
    let e: unknown = error, depth = 0;
    typeof e === 'object' && e !== null && depth < 8;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (isTlsCode(code)) return code;
  }
  return undefined;
}

export const isTlsFailureCode = isTlsCode;

/** What a TLS failure code means, as words following "the server: " (e.g. "its certificate has expired"). */
export function tlsFailureWords(code: string): string {
  return tlsWords[code] ?? "the TLS handshake failed (the server refused this client's TLS settings)";
}
