// The transport on @platformatic/kafka: metadata, offsets, topic admin and the idempotent producer. Reading lives
// in platformatic-reader.ts. Library errors become HotstateErrors here (see produce-outcome.ts for writes).
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AclOperations,
  AclPermissionTypes,
  Admin,
  ConfigResourceTypes,
  Consumer,
  FetchIsolationLevels,
  Producer,
  ProduceAcks,
  ResourcePatternTypes,
  ResourceTypes,
} from './kafka-library.ts';
import { HotstateError } from '../../errors.ts';
import { clientSettings } from './client-settings.ts';
import { isUnknownTopic, kafkaError } from './library-errors.ts';
import { securityError } from './security-errors.ts';
import type { Logger } from '../../logger.ts';
import { createPartitionReader } from './platformatic-reader.ts';
import { ProduceAttempts } from './produce-outcome.ts';
import type {
  KafkaConnection,
  OffsetRange,
  TopicAcl,
  ProduceRecord,
  RecordOutcome,
  SendOptions,
  TopicCreation,
  TopicLayout,
  Transport,
  TransportProducer,
} from '../transport.ts';

/** How long createTopic waits for the new topic to show in the brokers' metadata. */
const TOPIC_VISIBLE_MS = 15_000;
const EARLIEST = -2n;
/** Request timeout of one produce request (also the broker's wait for in-sync replicas). */
const ATTEMPT_TIMEOUT_MS = 5000;
const LIBRARY_RETRIES = 6;
/** A send of the library that has not called back after this long is taken as hung (measured under broker kills). */
const HUNG_AFTER_MS = 20_000;
const LATEST = -1n;

class PlatformaticTransport implements Transport {
  private readonly connection: KafkaConnection;
  private readonly log: Logger | undefined;
  private readonly admin: Admin;
  private readonly offsetsClient: Consumer;

  constructor(connection: KafkaConnection) {
    this.connection = connection;
    this.log = connection.logger;
    // Bounded retries everywhere: callers decide what a failure means (a broker down must surface, not hang).
    this.admin = new Admin({ ...clientSettings(connection, 'admin'), retries: 2, retryDelay: 250 });
    this.offsetsClient = new Consumer({
      ...clientSettings(connection, 'offsets'),
      groupId: 'hotstate-unused',
      retries: 2,
      retryDelay: 250,
    });
  }

  async layout(topic: string): Promise<TopicLayout | undefined> {
    if (!(await this.topics()).includes(topic)) {
      await this.assertDescribable(topic);
      return undefined;
    }
    try {
      const metadata = await this.admin.metadata({ topics: [topic], forceUpdate: true, autocreateTopics: false });
      const described = metadata.topics.get(topic);
      if (!described) return undefined;
      return {
        topic,
        topicId: described.id,
        partitions: described.partitions.map((p, partition) => ({ partition, leader: p.leader, inSync: p.isr })),
        replicationFactor: described.partitions[0]?.replicas.length ?? 0,
      };
    } catch (error) {
      throw kafkaError(`reading the metadata of topic ${topic}`, error, this.connection.brokers);
    }
  }

  /**
   * A topic listing leaves out topics the principal may not Describe, so a missing topic may be a missing ACL: asked
   * for by name (once, never auto-created), Kafka answers TOPIC_AUTHORIZATION_FAILED then, and that is thrown.
   */
  private async assertDescribable(topic: string): Promise<void> {
    try {
      await this.admin.metadata({ topics: [topic], forceUpdate: true, autocreateTopics: false, retries: 0 });
    } catch (error) {
      const refused = securityError(`reading the metadata of topic ${topic}`, error);
      if (refused) throw refused;
    }
  }

  async offsets(topic: string, { patienceMs = 0 }: { readonly patienceMs?: number } = {}): Promise<OffsetRange[]> {
    const deadline = Date.now() + patienceMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.offsetsOnce(topic);
      } catch (error) {
        if (Date.now() >= deadline) throw error;
        await sleep(Math.min(250 * 2 ** attempt, 2000, Math.max(0, deadline - Date.now())));
        // The library keeps asking the leader it knows; after a broker died only fresh metadata names the new one.
        await this.offsetsClient.metadata({ topics: [topic], forceUpdate: true }).catch(() => undefined);
      }
    }
  }

  private async offsetsOnce(topic: string): Promise<OffsetRange[]> {
    try {
      const options = { topics: [topic], isolationLevel: FetchIsolationLevels.READ_COMMITTED };
      const [starts, ends] = await Promise.all([
        this.offsetsClient.listOffsets({ ...options, timestamp: EARLIEST }),
        this.offsetsClient.listOffsets({ ...options, timestamp: LATEST }),
      ]);
      const start = starts.get(topic) ?? [];
      return (ends.get(topic) ?? []).map((end, partition) => ({
        partition,
        start: Number(start[partition] ?? 0n),
        end: Number(end),
      }));
    } catch (error) {
      throw kafkaError(`listing the offsets of topic ${topic}`, error, this.connection.brokers);
    }
  }

  async offsetsAt(topic: string, timestamp: number): Promise<Map<number, number>> {
    try {
      const options = { topics: [topic], isolationLevel: FetchIsolationLevels.READ_COMMITTED };
      const [at, ends] = await Promise.all([
        this.offsetsClient.listOffsets({ ...options, timestamp: BigInt(timestamp) }),
        this.offsetsClient.listOffsets({ ...options, timestamp: LATEST }),
      ]);
      const found = at.get(topic) ?? [];
      // -1: no record that new; reading starts at the end.
      return new Map(
        (ends.get(topic) ?? []).map((end, p) => [p, Number((found[p] ?? -1n) < 0n ? end : (found[p] as bigint))]),
      );
    } catch (error) {
      throw kafkaError(
        `listing the offsets of topic ${topic} at ${new Date(timestamp).toISOString()}`,
        error,
        this.connection.brokers,
      );
    }
  }

  async topicConfigs(topic: string): Promise<Record<string, string>> {
    try {
      const [described] = await this.admin.describeConfigs({
        resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }],
      });
      const configs: Record<string, string> = {};
      for (const { name, value } of described?.configs ?? []) if (typeof value === 'string') configs[name] = value;
      return configs;
    } catch (error) {
      // Retriable: right after a topic is created, a broker may not know it yet.
      if (isUnknownTopic(error))
        throw new HotstateError('HOTSTATE_ERR_RESOURCE_NOT_FOUND', `topic ${topic} does not exist`, {
          cause: error,
          retriable: true,
        });
      throw kafkaError(`describing the configuration of topic ${topic}`, error, this.connection.brokers);
    }
  }

  async topicAcls(topic: string, principal: string): Promise<TopicAcl[]> {
    try {
      const resources = await this.admin.describeAcls({
        filter: {
          resourceType: ResourceTypes.TOPIC,
          resourceName: topic,
          resourcePatternType: ResourcePatternTypes.MATCH,
          principal,
          host: null,
          operation: AclOperations.ANY,
          permissionType: AclPermissionTypes.ANY,
        },
      });
      const names = new Map<number, string>(Object.entries(AclOperations).map(([name, value]) => [value, name]));
      return resources.flatMap((resource) =>
        resource.acls.map((acl) => ({
          operation: names.get(acl.operation) ?? String(acl.operation),
          permission: acl.permissionType === AclPermissionTypes.DENY ? ('DENY' as const) : ('ALLOW' as const),
          pattern:
            resource.resourcePatternType === ResourcePatternTypes.PREFIXED
              ? `${resource.resourceName}*`
              : resource.resourceName,
        })),
      );
    } catch (error) {
      throw kafkaError(`describing the ACLs of ${principal} on topic ${topic}`, error, this.connection.brokers);
    }
  }

  async topics(): Promise<string[]> {
    try {
      return await this.admin.listTopics();
    } catch (error) {
      throw kafkaError('listing topics', error, this.connection.brokers);
    }
  }

  async createTopic(creation: TopicCreation): Promise<void> {
    try {
      await this.admin.createTopics({
        topics: [creation.topic],
        partitions: creation.partitions,
        replicas: creation.replicationFactor ?? -1,
        configs: Object.entries(creation.configs).map(([name, value]) => ({ name, value })),
      });
    } catch (error) {
      throw kafkaError(`creating topic ${creation.topic}`, error, this.connection.brokers);
    }
    // CreateTopics answers once the controller has the topic; the brokers' metadata learns of it a moment later,
    // and a caller that looks it up at once must find it (with a leader for every partition).
    const deadline = Date.now() + TOPIC_VISIBLE_MS;
    for (;;) {
      const layout = await this.layout(creation.topic).catch(() => undefined);
      if (layout?.partitions.every((p) => p.leader >= 0)) return;
      if (Date.now() > deadline)
        throw new HotstateError(
          'HOTSTATE_ERR_TRANSPORT_KAFKA',
          `topic ${creation.topic} was created, but the brokers did not show it with leaders within ${String(TOPIC_VISIBLE_MS / 1000)} s`,
          { retriable: true },
        );
      await sleep(100);
    }
  }

  async deleteTopic(topic: string): Promise<void> {
    try {
      await this.admin.deleteTopics({ topics: [topic] });
    } catch (error) {
      throw kafkaError(`deleting topic ${topic}`, error, this.connection.brokers);
    }
  }

  read(...args: Parameters<Transport['read']>): ReturnType<Transport['read']> {
    return createPartitionReader(this.connection, ...args);
  }

  producer(): TransportProducer {
    return new IdempotentProducer(this.connection, this.log);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.admin.close(), this.offsetsClient.close()]);
  }
}

/**
 * acks=all and idempotent. After any failed or uncertain send the library drops its producer id and sequence
 * numbers, so a later batch is never taken for a duplicate of one whose fate was unknown. Callers send one request
 * at a time (the hotstate producer queues), so sequence numbers are never shared between requests in flight.
 *
 * Every attempt's error is seen: an attempt that may have reached a broker makes the outcome "unknown" even when
 * a later attempt is refused outright (measured: with the library's resend on stale metadata, which drops earlier
 * errors, the chaos suite found writes reported "not written" in the topic). A retry after a failure is a new batch under a new producer id: it may
 * duplicate a write whose first attempt did land, and the offsets returned are the retry's.
 */
class IdempotentProducer implements TransportProducer {
  private readonly connection: KafkaConnection;
  private readonly log: Logger | undefined;
  private client: Producer;

  constructor(connection: KafkaConnection, log: Logger | undefined) {
    this.connection = connection;
    this.log = log;
    this.client = this.newClient();
  }

  private newClient(): Producer {
    return new Producer({
      ...clientSettings(this.connection, 'producer'),
      idempotent: true,
      acks: ProduceAcks.ALL,
      // The library retries a failed request with the same producer id and sequence (the broker deduplicates),
      // fetching fresh metadata after "not the leader", and reports every attempt's error: a new producer id (whose
      // InitProducerId can wait long while the controller moves) is needed only when it gives up.
      retries: LIBRARY_RETRIES,
      retryDelay: (_client: unknown, _operation: string, attempt: number) => Math.min(100 * 2 ** attempt, 1000),
      // Its resend on stale metadata would drop the errors of the attempts before it: retries do that job here.
      repeatOnStaleMetadata: false,
      timeout: Math.min(this.connection.requestTimeoutMs ?? 30_000, ATTEMPT_TIMEOUT_MS),
    });
  }

  /**
   * One attempt, bounded: measured under back-to-back broker kills, a library send can wait forever (no request
   * timer covers it). Such a client is closed and replaced, so its producer id and sequences are never used again.
   */
  private async attempt(
    messages: Parameters<Producer['send']>[0]['messages'],
    boundMs: number,
  ): Promise<Awaited<ReturnType<Producer['send']>>> {
    const client = this.client;
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Reject first: closing makes the hung send fail too, and that error must not win the race.
        reject(new Error(`the produce attempt did not finish within ${String(boundMs)} ms; the client was replaced`));
        this.client = this.newClient();
        setImmediate(() => {
          void client.close().catch(() => undefined);
        });
      }, boundMs);
    });
    try {
      return await Promise.race([client.send({ messages }), hung]);
    } finally {
      clearTimeout(timer);
    }
  }

  async send(topic: string, records: readonly ProduceRecord[], options: SendOptions = {}): Promise<RecordOutcome[]> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    const messages = records.map((r) => ({
      topic,
      partition: r.partition,
      key: r.key,
      // A null value is a tombstone; the library's types only admit Buffers.
      value: r.value as Buffer,
      ...(r.headers
        ? { headers: new Map(Object.entries(r.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])) }
        : {}),
    }));
    const attempts = new ProduceAttempts(topic, records);
    for (;;) {
      const pending = attempts.pending();
      const left = deadline - Date.now();
      if (left <= 0) return attempts.outcomes(true);
      try {
        const answer = await this.attempt(
          messages.filter((m) => pending.has(m.partition)),
          Math.min(HUNG_AFTER_MS, left),
        );
        attempts.answered(answer.offsets ?? []);
        return attempts.outcomes();
      } catch (error) {
        // Partitions whose leader answered are done even when another destination failed.
        attempts.answered(
          (error as { produced?: { offsets?: Array<{ topic: string; partition: number; offset: bigint }> } }).produced
            ?.offsets ?? [],
        );
        const retryIn = attempts.failed(error);
        this.log?.debug({ err: error, attempt: attempts.count, retryIn }, 'produce attempt failed');
        if (retryIn === undefined) {
          this.log?.warn({ err: error, attempts: attempts.count }, 'produce request failed');
          return attempts.outcomes(Date.now() >= deadline);
        }
        await sleep(Math.min(retryIn, Math.max(0, deadline - Date.now())));
        // The next attempt must go to the current leader: the library would use cached metadata.
        await this.client.metadata({ topics: [topic], forceUpdate: true }).catch(() => undefined);
      }
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

export function createPlatformaticTransport(connection: KafkaConnection): Transport {
  return new PlatformaticTransport(connection);
}

/** A transport for one task (admin commands), closed after it. */
export async function withTransport<T>(
  connection: KafkaConnection,
  use: (transport: Transport) => Promise<T>,
): Promise<T> {
  const transport = createPlatformaticTransport(connection);
  try {
    return await use(transport);
  } finally {
    await transport.close();
  }
}
