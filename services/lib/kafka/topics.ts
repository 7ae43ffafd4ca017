// Dataset topics: compacted, replicated enough for acks=-1, and keeping tombstones long enough for a replay.
// `ensureDatasetTopic` creates a missing topic with those settings and refuses an existing one that would lose
// data, naming every offending setting.
import { setTimeout as sleep } from 'node:timers/promises';
import { HotstateError } from '../errors.ts';
import type { Transport } from '../transport/transport.ts';

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
  /**
   * The rollback window of a new topic (`min.compaction.lag.ms`): records younger than this are never compacted, so
   * any version younger than it can be rebuilt exactly for diff and rollback. @defaultValue `86400000` (24 h)
   */
  readonly rollbackWindowMs?: number;
  /** Refuse an existing topic whose rollback window is shorter. @defaultValue not checked */
  readonly minRollbackWindowMs?: number;
  /** Extra configs for a new topic, for example a small `segment.ms` in tests (they win over the settings above). */
  readonly configs?: Readonly<Record<string, string>>;
}

export const defaultRollbackWindowMs = 86_400_000;

export interface TopicDescription {
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs: Record<string, string>;
}

/** Creates the topic when missing; verifies it either way; returns its effective configuration. */
export async function ensureDatasetTopic(
  transport: Transport,
  spec: DatasetTopicSpec,
): Promise<Record<string, string>> {
  if (!(await transport.topics()).includes(spec.topic)) {
    const configs: Record<string, string> = {
      'min.compaction.lag.ms': String(spec.rollbackWindowMs ?? defaultRollbackWindowMs),
      ...spec.configs,
      'cleanup.policy': 'compact',
    };
    if (spec.minInsyncReplicas !== undefined) configs['min.insync.replicas'] = String(spec.minInsyncReplicas);
    await transport.createTopic({
      topic: spec.topic,
      partitions: spec.partitions ?? 1,
      ...(spec.replicationFactor === undefined ? {} : { replicationFactor: spec.replicationFactor }),
      configs,
    });
    await waitForLeaders(transport, spec.topic);
  }
  const description = await describeTopic(transport, spec.topic);
  assertSafeTopic(spec.topic, description, spec);
  return description.configs;
}

/** Throws HOTSTATE_ERR_TOPIC_SETTINGS naming every problem topicProblems finds. */
export function assertSafeTopic(
  topic: string,
  description: TopicDescription,
  spec: Omit<DatasetTopicSpec, 'topic' | 'configs'> = {},
): void {
  const problems = topicProblems(description, spec);
  if (problems.length > 0) {
    throw new HotstateError(
      'HOTSTATE_ERR_TOPIC_SETTINGS',
      `topic ${topic} is not safe as a dataset topic:\n  - ${problems.join('\n  - ')}`,
    );
  }
}

/** Every setting of an existing topic that would lose data or break keyed partitioning; empty when safe. */
export function topicProblems(
  topic: TopicDescription,
  spec: Omit<DatasetTopicSpec, 'topic' | 'configs'> = {},
): string[] {
  const problems: string[] = [];
  const c = topic.configs;
  const policy = c['cleanup.policy'] ?? '';
  if (policy !== 'compact') {
    problems.push(
      `cleanup.policy=${policy}: ${policy.includes('delete') ? 'records are deleted by age or size' : 'not compacted'}; a dataset topic needs cleanup.policy=compact`,
    );
  }
  if (c['unclean.leader.election.enable'] === 'true')
    problems.push('unclean.leader.election.enable=true: a failover can drop acknowledged writes');
  const minIsr = Number(c['min.insync.replicas'] ?? '1');
  if (minIsr > topic.replicationFactor)
    problems.push(
      `min.insync.replicas=${String(minIsr)} exceeds the replication factor ${String(topic.replicationFactor)}: every acks=-1 write fails`,
    );
  else if (topic.replicationFactor >= 3 && minIsr < 2)
    problems.push(
      `min.insync.replicas=${String(minIsr)} with replication factor ${String(topic.replicationFactor)}: an acknowledged write may live on one replica only`,
    );
  const deleteRetention = Number(c['delete.retention.ms'] ?? '86400000');
  const minDeleteRetention = spec.minDeleteRetentionMs ?? 3_600_000;
  if (deleteRetention < minDeleteRetention) {
    problems.push(
      `delete.retention.ms=${String(deleteRetention)} is below ${String(minDeleteRetention)}: tombstones can be purged before a slow replay reads them, resurrecting deleted keys`,
    );
  }
  const rollbackWindow = Number(c['min.compaction.lag.ms'] ?? '0');
  if (spec.minRollbackWindowMs !== undefined && rollbackWindow < spec.minRollbackWindowMs) {
    problems.push(
      `min.compaction.lag.ms=${String(rollbackWindow)} is below ${String(spec.minRollbackWindowMs)}: the rollback window is shorter than asked, older versions cannot be rebuilt for diff and rollback`,
    );
  }
  if (spec.partitions !== undefined && spec.partitions !== topic.partitions) {
    problems.push(
      `has ${String(topic.partitions)} partitions, expected ${String(spec.partitions)}: keys would map to other partitions`,
    );
  }
  if (spec.replicationFactor !== undefined && spec.replicationFactor !== topic.replicationFactor) {
    problems.push(
      `replication factor is ${String(topic.replicationFactor)}, expected ${String(spec.replicationFactor)}`,
    );
  }
  if (spec.minInsyncReplicas !== undefined && spec.minInsyncReplicas !== minIsr) {
    problems.push(`min.insync.replicas=${String(minIsr)}, expected ${String(spec.minInsyncReplicas)}`);
  }
  return problems;
}

/** A new topic is usable once every partition has a leader (metadata reaches every broker shortly after). */
async function waitForLeaders(transport: Transport, topic: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const layout = await transport.layout(topic).catch(() => undefined);
    if (layout && layout.partitions.length > 0 && layout.partitions.every((p) => p.leader >= 0)) return;
    if (Date.now() > deadline)
      throw new HotstateError(
        'HOTSTATE_ERR_TRANSPORT_KAFKA',
        `topic ${topic} has partitions without a leader ${String(timeoutMs)} ms after its creation`,
        { retriable: true },
      );
    await sleep(100);
  }
}

export async function describeTopic(transport: Transport, topic: string): Promise<TopicDescription> {
  const layout = await transport.layout(topic);
  if (!layout)
    throw new HotstateError(
      'HOTSTATE_ERR_RESOURCE_NOT_FOUND',
      `topic ${topic} does not exist; create it with hotstate topics ensure`,
    );
  const configs = await describeTopicConfigs(transport, topic);
  return { partitions: layout.partitions.length, replicationFactor: layout.replicationFactor, configs };
}

/**
 * The topic's effective configuration as reported by the broker. Right after creation another broker may not know
 * the topic yet, so retriable errors are retried briefly.
 */
export async function describeTopicConfigs(
  transport: Transport,
  topic: string,
  retryForMs = 10_000,
): Promise<Record<string, string>> {
  const deadline = Date.now() + retryForMs;
  for (;;) {
    try {
      return await transport.topicConfigs(topic);
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable || Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
}

/** What each role needs on its dataset topic (docs/security.md): nothing more, nothing less. */
export const roleOperations = {
  producer: ['WRITE', 'DESCRIBE', 'DESCRIBE_CONFIGS'],
  view: ['READ', 'DESCRIBE', 'DESCRIBE_CONFIGS'],
} as const;

export type TopicRole = keyof typeof roleOperations;

/** Every missing ACL of the role and every grant beyond it, for a principal on a topic; empty when exact. */
export async function aclProblems(
  transport: Transport,
  topic: string,
  principal: string,
  role: TopicRole,
): Promise<string[]> {
  if (!transport.topicAcls)
    throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', 'this transport cannot describe ACLs');
  const acls = await transport.topicAcls(topic, principal);
  const denied = new Set(acls.filter((a) => a.permission === 'DENY').map((a) => a.operation));
  const allowed = new Set(acls.filter((a) => a.permission === 'ALLOW').map((a) => a.operation));
  const needed: readonly string[] = roleOperations[role];
  // ALL implies every operation; READ and WRITE imply DESCRIBE (Kafka's rule); a DENY wins over any ALLOW.
  const grants = (operation: string): boolean =>
    !denied.has(operation) &&
    !denied.has('ALL') &&
    (allowed.has(operation) ||
      allowed.has('ALL') ||
      (operation === 'DESCRIBE' && (allowed.has('READ') || allowed.has('WRITE'))));
  const problems = needed
    .filter((operation) => !grants(operation))
    .map((operation) => `${principal} lacks ${operation} on topic ${topic} (a ${role} needs ${needed.join(', ')})`);
  for (const acl of acls) {
    if (acl.permission === 'ALLOW' && !needed.includes(acl.operation))
      problems.push(`${principal} is also allowed ${acl.operation} on ${acl.pattern}: more than a ${role} needs`);
  }
  return problems;
}
