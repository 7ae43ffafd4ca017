// Sample datasets for tests: the schemas of the catalog in schemas/, a prices topic ready to write to.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { projectRoot } from '../../infra/settings.ts';
import { createProducer, type HotstateProducer, type ProducerOptions } from '../../services/lib/producer/producer.ts';
import { registerValueSchema } from '../../services/lib/registry.ts';
import { createTestTopic, testInfra, testKafka, testRegistry } from './infra.ts';

export const schemaText = (dataset: string, version: number): string =>
  readFileSync(join(projectRoot, 'schemas', dataset, `v${String(version)}.avsc`), 'utf8');

export const price = (instrument: string, value = 100, currency = 'EUR'): Record<string, unknown> => ({
  instrument,
  price: value,
  currency,
  updatedAt: 1_795_000_000_000,
  venue: null,
});

/** A fresh compacted topic with the prices v2 schema registered, and a connected producer for it. */
export async function pricesTopic(
  t: TestContext,
  options: Partial<ProducerOptions> = {},
  partitions = 3,
  configs: Record<string, string> = {},
): Promise<{ topic: string; producer: HotstateProducer }> {
  const kafka = testKafka(t);
  const topic = await createTestTopic(t, kafka, { partitions, configs });
  await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 2));
  const producer = await createProducer({
    kafka: testInfra().kafka,
    registryUrl: testInfra().registry,
    topic,
    ...options,
  });
  t.after(() => producer.close());
  return { topic, producer };
}
