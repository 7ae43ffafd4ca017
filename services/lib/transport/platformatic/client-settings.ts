// The options every client of the library gets from a KafkaConnection: bootstrap brokers, timeouts, TLS and SASL.
import { HotstateError } from '../../errors.ts';
import type { KafkaConnection, KafkaSasl } from '../transport.ts';
import type { ConnectionOptions } from 'node:tls';

export interface ClientSettings {
  readonly clientId: string;
  readonly bootstrapBrokers: string[];
  readonly connectTimeout: number;
  readonly timeout: number;
  readonly tls?: ConnectionOptions;
  readonly sasl?: { mechanism: KafkaSasl['mechanism']; username: string; password: string | (() => string) };
}

export function clientSettings(connection: KafkaConnection, role: string): ClientSettings {
  if (connection.brokers.length === 0) throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', 'no Kafka brokers given');
  const { tls, sasl } = connection;
  return {
    clientId: `${connection.clientId ?? 'hotstate'}-${role}`,
    bootstrapBrokers: [...connection.brokers],
    connectTimeout: connection.connectionTimeoutMs ?? 10_000,
    timeout: connection.requestTimeoutMs ?? 30_000,
    // Hostname verification stays on: node's default checkServerIdentity, never rejectUnauthorized=false.
    ...(tls
      ? {
          tls: {
            ...(tls.ca ? { ca: tls.ca } : {}),
            ...(tls.cert ? { cert: tls.cert } : {}),
            ...(tls.key ? { key: tls.key } : {}),
          },
        }
      : {}),
    ...(sasl ? { sasl: { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } } : {}),
  };
}
