// How services and the CLI reach a secured Kafka and registry: one set of settings (environment variables for the
// services, the same names as flags/env for the CLI), validated once with zod, turned into the library's options.
// Secrets can come from files (Kubernetes secrets mounted as files): a password file is read again on every
// (re)authentication, so a rotated secret is picked up without a restart. No message here ever contains a secret.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { RegistryTarget } from '../registry.ts';
import type { KafkaSasl, KafkaTls } from '../transport/transport.ts';

// An empty variable counts as unset (`KAFKA_SASL_PASSWORD_FILE= cmd` turns a setting off).
const optionalText = z.preprocess((v) => (v === '' ? undefined : v), z.string().min(1).optional());

export const securitySettingsShape = {
  KAFKA_SECURITY_PROTOCOL: z.enum(['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']).default('PLAINTEXT'),
  KAFKA_SASL_MECHANISM: z.enum(['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN']).default('SCRAM-SHA-512'),
  KAFKA_SASL_USERNAME: optionalText,
  KAFKA_SASL_PASSWORD: optionalText,
  KAFKA_SASL_PASSWORD_FILE: optionalText,
  KAFKA_TLS_CA_FILE: optionalText,
  KAFKA_TLS_CERT_FILE: optionalText,
  KAFKA_TLS_KEY_FILE: optionalText,
  SCHEMA_REGISTRY_USERNAME: optionalText,
  SCHEMA_REGISTRY_PASSWORD: optionalText,
  SCHEMA_REGISTRY_PASSWORD_FILE: optionalText,
  SCHEMA_REGISTRY_CA_FILE: optionalText,
};

/** The settings alone (the CLI parses its flags and environment with it). */
export const securitySchema = z.object(securitySettingsShape);
export type SecuritySettings = Readonly<z.infer<typeof securitySchema>>;

const readable = (file: string): boolean => {
  try {
    readFileSync(file);
    return true;
  } catch {
    return false;
  }
};

/** Cross-field rules, as zod issues (paths name the setting, never its value). */
export function securityProblems(s: SecuritySettings): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  const sasl = s.KAFKA_SECURITY_PROTOCOL.startsWith('SASL_');
  const tls = s.KAFKA_SECURITY_PROTOCOL.endsWith('SSL');
  if (sasl && s.KAFKA_SASL_USERNAME === undefined)
    problems.push({
      path: 'KAFKA_SASL_USERNAME',
      message: `required with KAFKA_SECURITY_PROTOCOL=${s.KAFKA_SECURITY_PROTOCOL}`,
    });
  if (sasl && (s.KAFKA_SASL_PASSWORD === undefined) === (s.KAFKA_SASL_PASSWORD_FILE === undefined))
    problems.push({
      path: 'KAFKA_SASL_PASSWORD',
      message: 'give exactly one of KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE',
    });
  if (!sasl && (s.KAFKA_SASL_USERNAME ?? s.KAFKA_SASL_PASSWORD ?? s.KAFKA_SASL_PASSWORD_FILE) !== undefined)
    problems.push({
      path: 'KAFKA_SECURITY_PROTOCOL',
      message: 'SASL credentials are set but the protocol is not SASL_SSL or SASL_PLAINTEXT',
    });
  if (!tls && (s.KAFKA_TLS_CA_FILE ?? s.KAFKA_TLS_CERT_FILE ?? s.KAFKA_TLS_KEY_FILE) !== undefined)
    problems.push({
      path: 'KAFKA_SECURITY_PROTOCOL',
      message: 'TLS files are set but the protocol is not SSL or SASL_SSL',
    });
  if ((s.KAFKA_TLS_CERT_FILE === undefined) !== (s.KAFKA_TLS_KEY_FILE === undefined))
    problems.push({
      path: 'KAFKA_TLS_CERT_FILE',
      message: 'a client certificate needs its key (KAFKA_TLS_KEY_FILE), and the other way round',
    });
  if (s.SCHEMA_REGISTRY_PASSWORD !== undefined && s.SCHEMA_REGISTRY_PASSWORD_FILE !== undefined)
    problems.push({
      path: 'SCHEMA_REGISTRY_PASSWORD',
      message: 'give at most one of SCHEMA_REGISTRY_PASSWORD and SCHEMA_REGISTRY_PASSWORD_FILE',
    });
  if (
    s.SCHEMA_REGISTRY_USERNAME === undefined &&
    (s.SCHEMA_REGISTRY_PASSWORD ?? s.SCHEMA_REGISTRY_PASSWORD_FILE) !== undefined
  )
    problems.push({ path: 'SCHEMA_REGISTRY_USERNAME', message: 'required with a registry password' });
  for (const name of [
    'KAFKA_SASL_PASSWORD_FILE',
    'KAFKA_TLS_CA_FILE',
    'KAFKA_TLS_CERT_FILE',
    'KAFKA_TLS_KEY_FILE',
    'SCHEMA_REGISTRY_PASSWORD_FILE',
    'SCHEMA_REGISTRY_CA_FILE',
  ] as const) {
    const file = s[name];
    if (file !== undefined && !readable(file)) problems.push({ path: name, message: `cannot read ${file}` });
  }
  return problems;
}

/** A secret given inline, or read from its file each time it is needed (trailing newline dropped). */
const secret = (inline: string | undefined, file: string | undefined): string | (() => string) | undefined =>
  inline ?? (file === undefined ? undefined : () => readFileSync(file, 'utf8').replace(/\r?\n$/, ''));

/** The library's Kafka options (`tls`, `sasl`) for these settings. */
export function kafkaSecurity(s: SecuritySettings): { tls?: KafkaTls; sasl?: KafkaSasl } {
  const tls = s.KAFKA_SECURITY_PROTOCOL.endsWith('SSL')
    ? {
        ...(s.KAFKA_TLS_CA_FILE ? { ca: readFileSync(s.KAFKA_TLS_CA_FILE) } : {}),
        ...(s.KAFKA_TLS_CERT_FILE ? { cert: readFileSync(s.KAFKA_TLS_CERT_FILE) } : {}),
        ...(s.KAFKA_TLS_KEY_FILE ? { key: readFileSync(s.KAFKA_TLS_KEY_FILE) } : {}),
      }
    : undefined;
  const password = secret(s.KAFKA_SASL_PASSWORD, s.KAFKA_SASL_PASSWORD_FILE);
  const sasl =
    s.KAFKA_SECURITY_PROTOCOL.startsWith('SASL_') && s.KAFKA_SASL_USERNAME !== undefined && password !== undefined
      ? { mechanism: s.KAFKA_SASL_MECHANISM, username: s.KAFKA_SASL_USERNAME, password }
      : undefined;
  return { ...(tls ? { tls } : {}), ...(sasl ? { sasl } : {}) };
}

/** The registry target for a URL and these settings (a plain URL when nothing else is set). */
export function registryTarget(url: string, s: SecuritySettings): RegistryTarget {
  const password = secret(s.SCHEMA_REGISTRY_PASSWORD, s.SCHEMA_REGISTRY_PASSWORD_FILE);
  if (s.SCHEMA_REGISTRY_USERNAME === undefined && s.SCHEMA_REGISTRY_CA_FILE === undefined) return url;
  return {
    url,
    ...(s.SCHEMA_REGISTRY_USERNAME === undefined ? {} : { username: s.SCHEMA_REGISTRY_USERNAME }),
    ...(password === undefined ? {} : { password }),
    ...(s.SCHEMA_REGISTRY_CA_FILE === undefined ? {} : { ca: readFileSync(s.SCHEMA_REGISTRY_CA_FILE) }),
  };
}
