// Test factories: every test gets its own topic (UUID name) and the cleanup is registered on the test context,
// so a failing test still deletes what it created.
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { Kafka } from 'kafkajs';
import { createKafka, withAdmin } from './kafkajs-client.ts';
import { ensureDatasetTopic, type DatasetTopicSpec } from '../../services/lib/kafka/topics.ts';
import { createPlatformaticTransport } from '../../services/lib/transport/platformatic-transport.ts';
import type { Transport } from '../../services/lib/transport/transport.ts';
import { valueSubject } from '../../services/lib/registry.ts';

export interface TestInfra {
  readonly brokers: string[];
  readonly registryUrl: string;
}

/** The infrastructure the global setup started or was pointed at; never silently absent. */
export function testInfra(): TestInfra {
  const brokers = process.env.KAFKA_BROKERS;
  const registryUrl = process.env.SCHEMA_REGISTRY_URL;
  if (!brokers || !registryUrl) {
    throw new Error('KAFKA_BROKERS and SCHEMA_REGISTRY_URL are not set: run the tests with `npm test` (its global setup starts the infrastructure)');
  }
  return { brokers: brokers.split(','), registryUrl };
}

export function testKafka(t: TestContext): Kafka {
  return createKafka({ brokers: testInfra().brokers, clientId: `test-${slug(t.name)}` });
}

/** A transport of our own seam, closed after the test. */
export function testTransport(t: TestContext, brokers = testInfra().brokers): Transport {
  const transport = createPlatformaticTransport({ brokers, clientId: `test-${slug(t.name)}` });
  t.after(() => transport.close());
  return transport;
}

/** The registry URL (hotstate's registry functions take it). */
export function testRegistry(): string {
  return testInfra().registryUrl;
}

const slug = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40);

export function uniqueTopicName(t: TestContext): string {
  return `test-${slug(t.name)}-${randomUUID()}`;
}

/** A fresh compacted topic; deleted, with its value subject, after the test. */
export async function createTestTopic(t: TestContext, kafka: Kafka, spec: Omit<DatasetTopicSpec, 'topic'> = {}): Promise<string> {
  const topic = uniqueTopicName(t);
  t.after(async () => {
    await withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [topic] }));
    await deleteSubject(valueSubject(topic));
  });
  await ensureDatasetTopic(testTransport(t), { topic, ...spec });
  return topic;
}

/** Soft-deletes then hard-deletes a subject (Confluent API), ignoring one that was never registered. */
export async function deleteSubject(subject: string): Promise<void> {
  const base = testInfra().registryUrl;
  for (const suffix of ['', '?permanent=true']) {
    const response = await fetch(`${base}/subjects/${encodeURIComponent(subject)}${suffix}`, { method: 'DELETE' });
    if (!response.ok && response.status !== 404) throw new Error(`deleting subject ${subject}: HTTP ${response.status} ${await response.text()}`);
  }
}
