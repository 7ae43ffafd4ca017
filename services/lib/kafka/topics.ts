// Dataset topics are compacted topics: create them so, and refuse to use one that is not.
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import type { Kafka } from 'kafkajs';
import { HotstateError } from '../errors.ts';
import { withAdmin } from './client.ts';

export interface CompactedTopicSpec {
  readonly topic: string;
  /** @defaultValue `1` */
  readonly partitions?: number;
  /** @defaultValue the broker's `default.replication.factor` */
  readonly replicationFactor?: number;
  /** Extra topic configs, for example small `segment.ms` in tests. */
  readonly configs?: Readonly<Record<string, string>>;
}

/** Creates the topic as compacted when missing; returns its effective configuration either way. */
export async function ensureCompactedTopic(kafka: Kafka, spec: CompactedTopicSpec): Promise<Record<string, string>> {
  return withAdmin(kafka, async (admin) => {
    const existing = await admin.listTopics();
    if (!existing.includes(spec.topic)) {
      const configEntries = Object.entries({ ...spec.configs, 'cleanup.policy': 'compact' }).map(([name, value]) => ({ name, value }));
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{
          topic: spec.topic,
          numPartitions: spec.partitions ?? 1,
          ...(spec.replicationFactor === undefined ? {} : { replicationFactor: spec.replicationFactor }),
          configEntries,
        }],
      });
    }
    const configs = await describeTopicConfigs(kafka, spec.topic);
    if (configs['cleanup.policy'] !== 'compact') {
      throw new HotstateError('HOTSTATE_ERR_TOPIC_NOT_COMPACTED', `topic ${spec.topic} has cleanup.policy=${String(configs['cleanup.policy'])}; a dataset topic needs cleanup.policy=compact`);
    }
    return configs;
  });
}

/**
 * The topic's effective configuration as reported by the broker (DescribeConfigs). Right after creation another
 * broker may not know the topic yet (UNKNOWN_TOPIC_OR_PARTITION, retriable), so retriable errors are retried briefly.
 */
export async function describeTopicConfigs(kafka: Kafka, topic: string, retryForMs = 10_000): Promise<Record<string, string>> {
  return withAdmin(kafka, async (admin) => {
    const deadline = Date.now() + retryForMs;
    for (;;) {
      try {
        const described = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic }],
        });
        const entries = described.resources[0]?.configEntries ?? [];
        return Object.fromEntries(entries.map((entry) => [entry.configName, entry.configValue]));
      } catch (error) {
        if (!(error as { retriable?: boolean }).retriable || Date.now() > deadline) throw error;
        await sleep(200);
      }
    }
  });
}
