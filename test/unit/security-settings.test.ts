// The security settings services and the CLI share: cross-field rules named by setting (never by value), secrets
// from files read again at each use (rotation), and the library options they turn into.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, stateServiceSchema } from '../../services/common/config.ts';
import {
  kafkaSecurity,
  registryTarget,
  securityProblems,
  securitySchema,
} from '../../services/lib/settings/security-settings.ts';

const base = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  SCHEMA_REGISTRY_URL: 'https://registry.local/apis/ccompat/v7',
  HOTSTATE_DATASETS: 'prices',
};

test('cross-field rules name the setting and never echo a secret', () => {
  const secret = 'very-secret-password-123';
  const problems = (env: Record<string, string>): string[] =>
    securityProblems(securitySchema.parse(env)).map((p) => `${p.path}: ${p.message}`);
  assert.deepEqual(problems({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' }), [
    'KAFKA_SASL_USERNAME: required with KAFKA_SECURITY_PROTOCOL=SASL_SSL',
    'KAFKA_SASL_PASSWORD: give exactly one of KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE',
  ]);
  assert.deepEqual(problems({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: secret }), [
    'KAFKA_SECURITY_PROTOCOL: SASL credentials are set but the protocol is not SASL_SSL or SASL_PLAINTEXT',
  ]);
  assert.deepEqual(problems({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_TLS_CERT_FILE: '/nonexistent/cert.pem' }), [
    'KAFKA_TLS_CERT_FILE: a client certificate needs its key (KAFKA_TLS_KEY_FILE), and the other way round',
    'KAFKA_TLS_CERT_FILE: cannot read /nonexistent/cert.pem',
  ]);
  assert.deepEqual(problems({ SCHEMA_REGISTRY_PASSWORD: secret }), [
    'SCHEMA_REGISTRY_USERNAME: required with a registry password',
  ]);
  assert.deepEqual(
    problems({
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: '',
      KAFKA_SASL_PASSWORD_FILE: '',
    }),
    ['KAFKA_SASL_PASSWORD: give exactly one of KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE'],
    'an empty variable counts as unset',
  );
  assert.throws(
    () => loadConfig(stateServiceSchema, { ...base, KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_PASSWORD: secret }),
    (error: Error) => {
      assert.match(error.message, /KAFKA_SASL_USERNAME: required/);
      assert.ok(!error.message.includes(secret));
      return true;
    },
  );
});

test('settings become library options; password files are read at each use, so a rotated secret is picked up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotstate-security-'));
  const passwordFile = join(dir, 'password');
  const caFile = join(dir, 'ca.pem');
  writeFileSync(passwordFile, 'first-password\n');
  writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\n');
  const settings = securitySchema.parse({
    KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
    KAFKA_SASL_USERNAME: 'svc',
    KAFKA_SASL_PASSWORD_FILE: passwordFile,
    KAFKA_TLS_CA_FILE: caFile,
    SCHEMA_REGISTRY_USERNAME: 'svc',
    SCHEMA_REGISTRY_PASSWORD_FILE: passwordFile,
  });
  assert.deepEqual(securityProblems(settings), []);
  const { tls, sasl } = kafkaSecurity(settings);
  assert.equal(tls?.ca?.toString(), '-----BEGIN CERTIFICATE-----\n');
  assert.deepEqual([sasl?.mechanism, sasl?.username], ['SCRAM-SHA-256', 'svc']);
  const password = sasl?.password;
  assert.equal(typeof password === 'function' ? password() : password, 'first-password');
  writeFileSync(passwordFile, 'rotated-password\n');
  assert.equal(typeof password === 'function' ? password() : password, 'rotated-password');
  const registry = registryTarget(base.SCHEMA_REGISTRY_URL, settings);
  assert.ok(
    typeof registry === 'object' &&
      typeof registry.password === 'function' &&
      registry.password() === 'rotated-password',
  );
  assert.equal(
    registryTarget(base.SCHEMA_REGISTRY_URL, securitySchema.parse({})),
    base.SCHEMA_REGISTRY_URL,
    'plain URL when nothing is set',
  );
  assert.deepEqual(kafkaSecurity(securitySchema.parse({})), {});
});
