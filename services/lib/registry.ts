// Schema registry access over the Confluent API (e.g. Apicurio's /apis/ccompat/v7). Subjects follow
// TopicNameStrategy (`<topic>-value`). Registry errors are converted to HotstateErrors here and nowhere else.
import confluent from '@kafkajs/confluent-schema-registry';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { HotstateError } from './errors.ts';

export const valueSubject = (topic: string): string => `${topic}-value`;

export interface RegistryClient {
  readonly url: string;
  /** The @kafkajs/confluent-schema-registry client (retries network errors and 5xx for up to 5 s). */
  readonly client: SchemaRegistry;
}

export function createSchemaRegistry(url: string): SchemaRegistry {
  return createRegistryClient(url).client;
}

export function createRegistryClient(url: string): RegistryClient {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', `schema registry URL ${JSON.stringify(url)} is not a URL`, { cause });
  }
  const base = parsed.toString().replace(/\/$/, '');
  return { url: base, client: new confluent.SchemaRegistry({ host: base, retry: { retries: 3, maxRetryTimeInSecs: 5 } }) };
}

// mappersmith reports network failures as HTTP 400 responses whose text carries the socket error.
const networkFailure = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|socket hang up|fetch failed|timed? ?out/i;

/** Converts any error from the registry client into a HotstateError that says what was being done. */
export function convertRegistryError(error: unknown, doing: string): HotstateError {
  if (error instanceof HotstateError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const status = (error as { status?: number }).status;
  if (status === undefined || status >= 500 || networkFailure.test(message)) {
    return new HotstateError('HOTSTATE_ERR_REGISTRY_UNAVAILABLE', `schema registry unavailable while ${doing}: ${message}`, { cause: error, retriable: true });
  }
  if (status === 404) return new HotstateError('HOTSTATE_ERR_REGISTRY_SCHEMA_NOT_FOUND', `${doing}: not found in the registry (${message})`, { cause: error });
  return new HotstateError('HOTSTATE_ERR_REGISTRY_REJECTED', `registry refused ${doing}: ${message}`, { cause: error });
}

/** Registers an Avro schema (JSON text or object) under `<topic>-value` (or an explicit subject); returns its id. */
export async function registerValueSchema(registry: SchemaRegistry, topic: string, schema: string | object, subject = valueSubject(topic)): Promise<number> {
  const text = typeof schema === 'string' ? schema : JSON.stringify(schema);
  try {
    const { id } = await registry.register({ type: confluent.SchemaType.AVRO, schema: text }, { subject });
    return id;
  } catch (error) {
    throw convertRegistryError(error, `registering a schema under ${subject}`);
  }
}

/** Id of a schema already registered under the subject; never registers. */
export async function lookupSchemaId(registry: SchemaRegistry, subject: string, schema: string | object): Promise<number> {
  const text = typeof schema === 'string' ? schema : JSON.stringify(schema);
  try {
    return await registry.getRegistryIdBySchema(subject, { type: confluent.SchemaType.AVRO, schema: text });
  } catch (error) {
    const converted = convertRegistryError(error, `looking up the schema under ${subject}`);
    if (converted.code !== 'HOTSTATE_ERR_REGISTRY_SCHEMA_NOT_FOUND') throw converted;
    throw new HotstateError('HOTSTATE_ERR_REGISTRY_SCHEMA_NOT_FOUND', `the given schema is not registered under ${subject}; register it first (hotstate schemas register) or allow registration`, { cause: error });
  }
}

/** One Confluent-API request; errors converted as everywhere else (404 → SCHEMA_NOT_FOUND, 5xx/network → UNAVAILABLE). */
export async function registryRequest(url: string, path: string, doing: string, init: RequestInit = {}): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${url}${path}`, {
      ...init,
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json', accept: 'application/json' },
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new HotstateError('HOTSTATE_ERR_REGISTRY_UNAVAILABLE', `schema registry unavailable while ${doing}: ${(error as Error).message}`, { cause: error, retriable: true });
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (response.ok) return body;
  const detail = (body as { message?: string } | undefined)?.message ?? `HTTP ${String(response.status)}`;
  throw convertRegistryError(Object.assign(new Error(detail), { status: response.status }), doing);
}

export interface RegisteredSchema {
  readonly id: number;
  readonly version: number;
  readonly schema: string;
}

/** The latest version under a subject, or undefined when the subject does not exist. */
export async function latestSchema(url: string, subject: string): Promise<RegisteredSchema | undefined> {
  try {
    return (await registryRequest(url, `/subjects/${encodeURIComponent(subject)}/versions/latest`, `reading the latest schema of ${subject}`)) as RegisteredSchema;
  } catch (error) {
    if ((error as HotstateError).code === 'HOTSTATE_ERR_REGISTRY_SCHEMA_NOT_FOUND') return undefined;
    throw error;
  }
}

export interface CompatibilityVerdict {
  readonly compatible: boolean;
  /** The registry's reasons, when it gives any (Confluent does with verbose=true; Apicurio does not). */
  readonly messages: readonly string[];
  /** True when the subject has no version yet (anything is compatible). */
  readonly newSubject: boolean;
}

/** Asks the registry whether `schema` may be registered next under `subject` (its compatibility rule decides). */
export async function checkCompatibility(url: string, subject: string, schema: string): Promise<CompatibilityVerdict> {
  if ((await latestSchema(url, subject)) === undefined) return { compatible: true, messages: [], newSubject: true };
  const body = (await registryRequest(url, `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest?verbose=true`, `checking compatibility under ${subject}`, {
    method: 'POST',
    body: JSON.stringify({ schema }),
  })) as { is_compatible?: boolean; messages?: string[] };
  return { compatible: body.is_compatible === true, messages: body.messages ?? [], newSubject: false };
}
