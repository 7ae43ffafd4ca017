// Schema registry access (Confluent API, e.g. Apicurio's /apis/ccompat/v7). Subjects follow TopicNameStrategy.
import confluent from '@kafkajs/confluent-schema-registry';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { HotstateError } from './errors.ts';

export const valueSubject = (topic: string): string => `${topic}-value`;

export function createSchemaRegistry(url: string): SchemaRegistry {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', `schema registry URL ${JSON.stringify(url)} is not a URL`, { cause });
  }
  return new confluent.SchemaRegistry({ host: parsed.toString().replace(/\/$/, '') });
}

/** Registers an Avro schema (JSON text or object) under `<topic>-value`; returns its registry id. */
export async function registerValueSchema(registry: SchemaRegistry, topic: string, schema: string | object): Promise<number> {
  const text = typeof schema === 'string' ? schema : JSON.stringify(schema);
  try {
    const { id } = await registry.register({ type: confluent.SchemaType.AVRO, schema: text }, { subject: valueSubject(topic) });
    return id;
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status !== undefined && status >= 400 && status < 500) {
      throw new HotstateError('HOTSTATE_ERR_REGISTRY_REJECTED', `registry refused the schema for ${valueSubject(topic)}: ${(error as Error).message}`, { cause: error });
    }
    throw new HotstateError('HOTSTATE_ERR_REGISTRY_UNAVAILABLE', `schema registry request failed: ${(error as Error).message}`, { cause: error, retriable: true });
  }
}
