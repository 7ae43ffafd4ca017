// Dataset topics: compacted, replicated enough for acks=-1, and keeping tombstones long enough for a replay.
// `ensureDatasetTopic` creates a missing topic with those settings and refuses an existing one that would lose
// data, naming every offending setting.
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import type { Kafka } from 'kafkajs';
import { HotstateError } from '../errors.ts';
import { withAdmin } from './client.ts';

export interface DatasetTopicSpec {
  readonly topic: string;
  /** Partition count for a new topic; for an existing one, a different count is refused. @defaultValue `1` */
  readonly partitions?: number;
  /** @defaultValue the broker's `default.replication.factor` */
  readonly replicationFactor?: number;
  /** @defaultValue the broker's `min.insync.replicas` */
  readonly minInsyncReplicas?: number;
  /** Tombstones must outlive the slowest replay. @defaultValue `3600000` (1 h) */
  readonly minDeleteRetentionMs?: number;
  /** Extra configs for a new topic, for example a small `segment.ms` in tests. */
  readonly configs?: Readonly<Record<string, string>>;
}

export interface TopicDescription {
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs: Record<string, string>;
}

/** Creates the topic when missing; verifies it either way; returns its effective configuration. */
export async function ensureDatasetTopic(kafka: Kafka, spec: DatasetTopicSpec): Promise<Record<string, string>> {
  const exists = await withAdmin(kafka, async (admin) => (await admin.listTopics()).includes(spec.topic));
  if (!exists) {
    const configs: Record<string, string> = { ...spec.configs, 'cleanup.policy': 'compact' };
    if (spec.minInsyncReplicas !== undefined) configs['min.insync.replicas'] = String(spec.minInsyncReplicas);
    await withAdmin(kafka, async (admin) => {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{
          topic: spec.topic,
          numPartitions: spec.partitions ?? 1,
          ...(spec.replicationFactor === undefined ? {} : { replicationFactor: spec.replicationFactor }),
          configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
        }],
      });
    });
  }
  const description = await describeTopic(kafka, spec.topic);
  assertSafeTopic(spec.topic, description, spec);
  return description.configs;
}

/** Throws HOTSTATE_ERR_TOPIC_SETTINGS naming every problem topicProblems finds. */
export function assertSafeTopic(topic: string, description: TopicDescription, spec: Omit<DatasetTopicSpec, 'topic' | 'configs'> = {}): void {
  const problems = topicProblems(description, spec);
  if (problems.length > 0) {
    throw new HotstateError('HOTSTATE_ERR_TOPIC_SETTINGS', `topic ${topic} is not safe as a dataset topic:\n  - ${problems.join('\n  - ')}`);
  }
}

/** Every setting of an existing topic that would lose data or break keyed partitioning; empty when safe. */
export function topicProblems(topic: TopicDescription, spec: Omit<DatasetTopicSpec, 'topic' | 'configs'> = {}): string[] {
  const problems: string[] = [];
  const c = topic.configs;
  const policy = c['cleanup.policy'] ?? '';
  if (policy !== 'compact') {
    problems.push(`cleanup.policy=${policy}: ${policy.includes('delete') ? 'records are deleted by age or size' : 'not compacted'}; a dataset topic needs cleanup.policy=compact`);
  }
  if (c['unclean.leader.election.enable'] === 'true') problems.push('unclean.leader.election.enable=true: a failover can drop acknowledged writes');
  const minIsr = Number(c['min.insync.replicas'] ?? '1');
  if (minIsr > topic.replicationFactor) problems.push(`min.insync.replicas=${String(minIsr)} exceeds the replication factor ${String(topic.replicationFactor)}: every acks=-1 write fails`);
  else if (topic.replicationFactor >= 3 && minIsr < 2) problems.push(`min.insync.replicas=${String(minIsr)} with replication factor ${String(topic.replicationFactor)}: an acknowledged write may live on one replica only`);
  const deleteRetention = Number(c['delete.retention.ms'] ?? '86400000');
  const minDeleteRetention = spec.minDeleteRetentionMs ?? 3_600_000;
  if (deleteRetention < minDeleteRetention) {
    problems.push(`delete.retention.ms=${String(deleteRetention)} is below ${String(minDeleteRetention)}: tombstones can be purged before a slow replay reads them, resurrecting deleted keys`);
  }
  if (spec.partitions !== undefined && spec.partitions !== topic.partitions) {
    problems.push(`has ${String(topic.partitions)} partitions, expected ${String(spec.partitions)}: keys would map to other partitions`);
  }
  if (spec.replicationFactor !== undefined && spec.replicationFactor !== topic.replicationFactor) {
    problems.push(`replication factor is ${String(topic.replicationFactor)}, expected ${String(spec.replicationFactor)}`);
  }
  if (spec.minInsyncReplicas !== undefined && spec.minInsyncReplicas !== minIsr) {
    problems.push(`min.insync.replicas=${String(minIsr)}, expected ${String(spec.minInsyncReplicas)}`);
  }
  return problems;
}

export async function describeTopic(kafka: Kafka, topic: string): Promise<TopicDescription> {
  const configs = await describeTopicConfigs(kafka, topic);
  const metadata = await withAdmin(kafka, (admin) => admin.fetchTopicMetadata({ topics: [topic] }));
  const partitions = metadata.topics[0]?.partitions ?? [];
  return { partitions: partitions.length, replicationFactor: Math.min(...partitions.map((p) => p.replicas.length)), configs };
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
