// The only module that constructs kafkajs clients, so safe defaults live in one place and the client can be
// swapped. kafkajs is CommonJS: its named exports are reached through the default import.
import kafkajs from 'kafkajs';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { HotstateError } from '../errors.ts';
import { createLogger, kafkajsLogCreator, type Logger } from '../logger.ts';

export interface KafkaConnection {
  /** `host:port` pairs. */
  readonly brokers: readonly string[];
  /** @defaultValue `hotstate` */
  readonly clientId?: string;
  /** @defaultValue `10000` */
  readonly connectionTimeoutMs?: number;
  /** @defaultValue `30000` */
  readonly requestTimeoutMs?: number;
  /** Receives kafkajs's log lines. @defaultValue a `hotstate` pino logger at `warn` */
  readonly logger?: Logger;
}

export function createKafka(connection: KafkaConnection): Kafka {
  if (connection.brokers.length === 0) throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', 'no Kafka brokers given');
  return new kafkajs.Kafka({
    brokers: [...connection.brokers],
    clientId: connection.clientId ?? 'hotstate',
    connectionTimeout: connection.connectionTimeoutMs ?? 10_000,
    requestTimeout: connection.requestTimeoutMs ?? 30_000,
    // Bounded retries: a stopped broker must surface as an error, not an endless wait.
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5_000 },
    logLevel: kafkajs.logLevel.WARN,
    logCreator: kafkajsLogCreator(connection.logger ?? createLogger({ level: 'warn' })),
  });
}

/** Idempotent, acks=-1 producer; idempotence in kafkajs requires at most one request in flight. */
export function createSafeProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // kafkajs's default partitioner is the Java client's murmur2 partitioner.
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
}

/** Tailing consumer: kafkajs's 5 s default fetch wait would make every live update look late. */
export function createTailingConsumer(kafka: Kafka, groupId: string): Consumer {
  return kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
}

export async function withAdmin<T>(kafka: Kafka, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    return await use(admin);
  } catch (error) {
    if (error instanceof HotstateError) throw error;
    throw new HotstateError('HOTSTATE_ERR_TRANSPORT_KAFKA', `Kafka admin request failed: ${(error as Error).message}`, { cause: error, retriable: true });
  } finally {
    await admin.disconnect();
  }
}
