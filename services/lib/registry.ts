// The one schema-registry client: the Confluent API over fetch (e.g. Apicurio's /apis/ccompat/v7). Subjects follow
// TopicNameStrategy (`<topic>-value`). Every answer is validated (zod) before use, and errors are decided by what
// happened, never by message text: no answer → unavailable; 5xx → unavailable; 404 → not found; other 4xx → refused.
import { z } from 'zod';
import { HotstateError } from './errors.ts';

export const valueSubject = (topic: string): string => `${topic}-value`;

/** The registry base URL, checked and without a trailing slash. */
export function registryBaseUrl(url: string): string {
  try {
    return new URL(url).toString().replace(/\/$/, '');
  } catch (cause) {
    throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', `schema registry URL ${JSON.stringify(url)} is not a URL`, { cause });
  }
}

const errorAnswer = z.object({ message: z.string() }).partial();

/** One Confluent-API request; the answer's body (JSON) or a HotstateError saying what was being done. */
export async function registryRequest(url: string, path: string, doing: string, init: RequestInit = {}): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${registryBaseUrl(url)}${path}`, {
      ...init,
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json', accept: 'application/json' },
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new HotstateError('HOTSTATE_ERR_REGISTRY_UNAVAILABLE', `schema registry unavailable while ${doing}: ${(error as Error).message}`, { cause: error, retriable: true });
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (response.ok) return body;
  const detail = errorAnswer.safeParse(body).data?.message ?? `HTTP ${String(response.status)}`;
  if (response.status >= 500) {
    throw new HotstateError('HOTSTATE_ERR_REGISTRY_UNAVAILABLE', `schema registry unavailable while ${doing}: ${detail}`, { retriable: true });
  }
  if (response.status === 404) throw new HotstateError('HOTSTATE_ERR_REGISTRY_SCHEMA_NOT_FOUND', `${doing}: not found in the registry (${detail})`);
  throw new HotstateError('HOTSTATE_ERR_REGISTRY_REJECTED', `registry refused ${doing}: ${detail}`);
}

/** A request whose answer must match `shape`; a registry answering something else is refused, never trusted. */
async function registryAnswer<T>(shape: z.ZodType<T>, url: string, path: string, doing: string, init?: RequestInit): Promise<T> {
  const parsed = shape.safeParse(await registryRequest(url, path, doing, init));
  if (!parsed.success) throw new HotstateError('HOTSTATE_ERR_REGISTRY_REJECTED', `unexpected registry answer while ${doing}: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The answer, or undefined for a 404. */
async function unlessMissing<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof HotstateError && error.code === 'HOTSTATE_ERR_REGISTRY_SCHEMA_NOT_FOUND') return undefined;
    throw error;
  }
}

const schemaText = (schema: string | object): string => (typeof schema === 'string' ? schema : JSON.stringify(schema));
const subjectPath = (subject: string): string => `/subjects/${encodeURIComponent(subject)}`;
const idAnswer = z.object({ id: z.number().int().nonnegative() });

/** Registers an Avro schema (JSON text or object) under `<topic>-value` (or an explicit subject); returns its id. */
export async function registerValueSchema(url: string, topic: string, schema: string | object, subject = valueSubject(topic)): Promise<number> {
  const doing = `registering a schema under ${subject}`;
  const body = JSON.stringify({ schema: schemaText(schema), schemaType: 'AVRO' });
  return (await registryAnswer(idAnswer, url, `${subjectPath(subject)}/versions`, doing, { method: 'POST', body })).id;
}

/** Id of a schema already registered under the subject; never registers. */
export async function lookupSchemaId(url: string, subject: string, schema: string | object): Promise<number> {
  const body = JSON.stringify({ schema: schemaText(schema), schemaType: 'AVRO' });
  const found = await unlessMissing(registryAnswer(idAnswer, url, subjectPath(subject), `looking up the schema under ${subject}`, { method: 'POST', body }));
  if (!found) throw new HotstateError('HOTSTATE_ERR_REGISTRY_SCHEMA_NOT_FOUND', `the given schema is not registered under ${subject}; register it first (hotstate schemas register) or allow registration`);
  return found.id;
}

const registeredAnswer = z.object({ id: z.number().int().nonnegative(), version: z.number().int(), schema: z.string() });

export type RegisteredSchema = z.infer<typeof registeredAnswer>;

/** The latest version under a subject, or undefined when the subject does not exist. */
export async function latestSchema(url: string, subject: string): Promise<RegisteredSchema | undefined> {
  return unlessMissing(registryAnswer(registeredAnswer, url, `${subjectPath(subject)}/versions/latest`, `reading the latest schema of ${subject}`));
}

/** The schema text of an id, or undefined when the registry does not know the id. */
export async function schemaById(url: string, id: number): Promise<string | undefined> {
  const found = await unlessMissing(registryAnswer(z.object({ schema: z.string() }), url, `/schemas/ids/${String(id)}`, `fetching writer schema ${String(id)}`));
  return found?.schema;
}

/** Every schema id registered under the subject (empty when the subject does not exist). */
export async function subjectSchemaIds(url: string, subject: string): Promise<Set<number>> {
  const doing = `listing the versions of ${subject}`;
  const versions = await unlessMissing(registryAnswer(z.array(z.number().int()), url, `${subjectPath(subject)}/versions`, doing));
  const ids = new Set<number>();
  for (const version of versions ?? []) {
    const one = await unlessMissing(registryAnswer(idAnswer, url, `${subjectPath(subject)}/versions/${String(version)}`, `reading ${subject} version ${String(version)}`));
    if (one) ids.add(one.id);
  }
  return ids;
}

export interface CompatibilityVerdict {
  readonly compatible: boolean;
  /** The registry's reasons, when it gives any (Confluent does with verbose=true; Apicurio does not). */
  readonly messages: readonly string[];
  /** True when the subject has no version yet (anything is compatible). */
  readonly newSubject: boolean;
}

const compatibilityAnswer = z.object({ is_compatible: z.boolean(), messages: z.array(z.string()).optional() });

/** Asks the registry whether `schema` may be registered next under `subject` (its compatibility rule decides). */
export async function checkCompatibility(url: string, subject: string, schema: string): Promise<CompatibilityVerdict> {
  if ((await latestSchema(url, subject)) === undefined) return { compatible: true, messages: [], newSubject: true };
  const body = await registryAnswer(compatibilityAnswer, url, `/compatibility${subjectPath(subject)}/versions/latest?verbose=true`, `checking compatibility under ${subject}`, {
    method: 'POST',
    body: JSON.stringify({ schema }),
  });
  return { compatible: body.is_compatible, messages: body.messages ?? [], newSubject: false };
}
