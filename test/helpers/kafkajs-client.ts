// kafkajs as an independent reference client for tests (raw produce, consume, admin), next to kcat: hotstate itself
// talks to Kafka only through its transport seam. kafkajs is CommonJS: named exports come via the default import.
import kafkajs from 'kafkajs';
import type { Admin, Consumer, Kafka, Producer, SASLOptions } from 'kafkajs';
import { HotstateError } from '../../services/lib/errors.ts';
import type { logCreator } from 'kafkajs';
import { createLogger, type Logger } from '../../services/lib/logger.ts';
import type { KafkaConnection, KafkaSasl } from '../../services/lib/transport/transport.ts';

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
    ...(connection.tls ? { ssl: { ...connection.tls } } : {}),
    ...(connection.sasl ? { sasl: kafkajsSasl(connection.sasl) } : {}),
  });
}

function kafkajsSasl({ mechanism, username, password }: KafkaSasl): SASLOptions {
  const secret = typeof password === 'function' ? password() : password;
  if (mechanism === 'PLAIN') return { mechanism: 'plain', username, password: secret };
  return mechanism === 'SCRAM-SHA-256'
    ? { mechanism: 'scram-sha-256', username, password: secret }
    : { mechanism: 'scram-sha-512', username, password: secret };
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
    throw new HotstateError('HOTSTATE_ERR_TRANSPORT_KAFKA', `Kafka admin request failed: ${(error as Error).message}`, {
      cause: error,
      retriable: true,
    });
  } finally {
    await admin.disconnect();
  }
}

// Known, deliberate: our producer bounds retries (a stopped broker must fail, not hang), which kafkajs warns about
// on every producer. Delivery stays idempotent within the bounded retries.
const expectedWarnings = ['Limiting retries for the idempotent producer may invalidate EoS guarantees'];

// kafkajs logs every retriable broker answer at ERROR, although it retries them: a coordinator still loading on a
// fresh broker, or metadata not yet propagated for a new topic. Those are debug noise; real failures still surface
// as rejected promises.
const transient =
  /coordinator is loading|coordinator is not available|does not host this topic-partition|leader is not available/i;

/** A kafkajs logCreator writing into a child of `logger`. */
function kafkajsLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  const { ERROR, WARN, INFO } = kafkajs.logLevel;
  return () =>
    ({ namespace, level, log }) => {
      const { message, ...fields } = log;
      if (expectedWarnings.some((text) => message.includes(text))) return;
      const entry = { ...fields, namespace };
      const error = (fields as { error?: unknown }).error;
      if (typeof error === 'string' && transient.test(error)) child.debug(entry, message);
      else if (level === ERROR) child.error(entry, message);
      else if (level === WARN) child.warn(entry, message);
      else if (level === INFO) child.info(entry, message);
      else child.debug(entry, message);
    };
}
