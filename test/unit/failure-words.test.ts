// What network, TLS and Kafka failures say: decided by codes anywhere in the causes, never by message text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tlsFailureCode, tlsFailureWords } from '../../services/lib/tls-errors.ts';
import { firstSocketFailure } from '../../services/lib/network-errors.ts';
import { kafkaFailureDetail } from '../../services/lib/transport/platformatic/kafka-failure.ts';
import { securityFailure } from '../../services/lib/transport/platformatic/security-errors.ts';

const coded = (code: string, extra: object = {}): Error => Object.assign(new Error(`raw ${code}`), { code, ...extra });

test('every X509 verification code Node reports is a TLS failure with words; a CA with another key among them', () => {
  for (const code of [
    'CERT_SIGNATURE_FAILURE',
    'CERT_HAS_EXPIRED',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'HOSTNAME_MISMATCH',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  ]) {
    const error = new Error('fetch failed', { cause: coded(code) });
    assert.equal(tlsFailureCode(error), code);
    assert.equal(securityFailure(error)?.kind, 'authentication', code);
  }
  assert.match(tlsFailureWords('CERT_SIGNATURE_FAILURE'), /another key/);
  assert.match(tlsFailureWords('ERR_SSL_WRONG_VERSION_NUMBER'), /does not speak TLS/);
  assert.equal(tlsFailureCode(coded('ECONNREFUSED')), undefined);
});

test('socket failures name the address and what happened', () => {
  const refused = coded('ECONNREFUSED', { address: '127.0.0.1', port: 9099 });
  assert.equal(
    firstSocketFailure(new Error('x', { cause: refused }), 'fallback'),
    '127.0.0.1:9099: connection refused (nothing listens there: is the server running, and is this its port?)',
  );
  assert.equal(
    firstSocketFailure(coded('ENOTFOUND', { hostname: 'kafka.invalid' }), 'fallback'),
    'kafka.invalid: unknown host name',
  );
});

test('Kafka failures: the socket cause, a timeout, a listener that closed at once, or the innermost messages', () => {
  const aggregate = (errors: Error[]): Error =>
    Object.assign(new AggregateError(errors, 'Describing configs failed.'), { code: 'PLT_KFK_MULTIPLE' });
  const network = (cause?: Error): Error =>
    Object.assign(new Error('Connection closed'), { code: 'PLT_KFK_NETWORK', ...(cause ? { cause } : {}) });
  assert.match(
    kafkaFailureDetail(aggregate([network(coded('ECONNREFUSED', { address: '127.0.0.1', port: 9 }))]), [
      '127.0.0.1:9',
    ]) ?? '',
    /^127\.0\.0\.1:9: connection refused/,
  );
  assert.match(kafkaFailureDetail(aggregate([coded('PLT_KFK_TIMEOUT')]), ['b:1']) ?? '', /^no answer from b:1 in time/);
  assert.match(
    kafkaFailureDetail(aggregate([network()]), ['b:1']) ?? '',
    /^b:1 closed the connection before answering \(not a Kafka listener/,
  );
  assert.match(
    kafkaFailureDetail(aggregate([Object.assign(new Error('the broker said so'), { apiId: 'NOT_CONTROLLER' })]), [
      'b:1',
    ]) ?? '',
    /the broker answered NOT_CONTROLLER/,
  );
  assert.equal(kafkaFailureDetail(aggregate([new Error('something else')]), ['b:1']), 'something else (brokers b:1)');
});
