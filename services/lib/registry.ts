// The one schema-registry client: the Confluent API over fetch (e.g. Apicurio's /apis/ccompat/v7). Subjects follow
// TopicNameStrategy (`<topic>-value`). Every answer is validated (zod) before use, and errors are decided by what
// happened, never by message text: no answer → unavailable; 5xx → unavailable; 404 → not found; other 4xx → refused.
import { z } from 'zod';
import { HotstateError, isHotstateError } from './errors.ts';
import { tlsFailureCode, tlsFailureWords } from './tls-errors.ts';
import { errorCauses, firstSocketFailure } from './network-errors.ts';
import { connect as tlsConnect } from 'node:tls';
import { isIP } from 'node:net';

/** Bound on one registry request. */
const REQUEST_TIMEOUT_MS = 10_000;

export const valueSubject = (topic: string): string => `${topic}-value`;
/** Where foreign writers (Debezium, Kafka Connect) register Avro keys; hotstate's own keys are UTF-8 text. */
export const keySubject = (topic: string): string => `${topic}-key`;

/** A registry behind HTTPS and basic auth: credentials (a function is asked on every request, so rotated secret
 *  files are picked up) and the PEM certificates to trust instead of the system's. */
export interface RegistryConnection {
  readonly url: string;
  readonly username?: string;
  readonly password?: string | (() => string);
  readonly ca?: string | Buffer;
}

/** A registry URL (credentials may be given as `https://user:password@host/...`), or a connection. */
export type RegistryTarget = string | RegistryConnection;

/** The registry base URL, checked, without credentials and without a trailing slash. */
export function registryBaseUrl(target: RegistryTarget): string {
  const text = typeof target === 'string' ? target : target.url;
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    // The URL may hold a password: say what is wrong without echoing it.
    throw new HotstateError(
      'HOTSTATE_ERR_CONFIG_INVALID',
      `schema registry URL ${JSON.stringify(text.replace(/\/\/[^@/]*@/, '//***@'))} is not a URL`,
      { cause },
    );
  }
  url.username = '';
  url.password = '';
  return url.toString().replace(/\/$/, '');
}

/** What a registry request needs of a fetch answer (Node's fetch and undici's give the same). */
interface FetchAnswer {
  readonly ok: boolean;
  readonly status: number;
  json(): Promise<unknown>;
}
interface FetchInit {
  readonly method?: string;
  readonly body?: string;
  readonly headers: Record<string, string>;
  readonly signal: AbortSignal;
}
type Fetch = (url: string, init: FetchInit) => Promise<FetchAnswer>;

/** Node's own fetch, unless the registry has a CA of its own: Node's fetch cannot be given one, undici's can (loaded
 * only then: importing it costs ~0.1 s of every start). One undici agent per CA. */
const caFetches = new Map<string, Promise<Fetch>>();
function fetchFor(ca: string | Buffer | undefined): Fetch | Promise<Fetch> {
  if (ca === undefined) return fetch;
  const key = ca.toString();
  let made = caFetches.get(key);
  if (!made) {
    made = import('undici').then(({ Agent, fetch: undiciFetch }) => {
      const dispatcher = new Agent({ connect: { ca } });
      return (url, init) => undiciFetch(url, { ...init, dispatcher });
    });
    caFetches.set(key, made);
  }
  return made;
}

function authorizationOf(target: RegistryTarget): string | undefined {
  let username: string | undefined;
  let password: string | undefined;
  if (typeof target === 'string') {
    const url = URL.canParse(target) ? new URL(target) : undefined;
    username = url?.username ? decodeURIComponent(url.username) : undefined;
    password = url?.password ? decodeURIComponent(url.password) : undefined;
  } else {
    username = target.username;
    password = typeof target.password === 'function' ? target.password() : target.password;
  }
  return username === undefined
    ? undefined
    : `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
}

/** Why no HTTP answer came: TLS refused (never retried), or the registry could not be reached (retried). */
function unreachable(target: RegistryTarget, doing: string, error: unknown): HotstateError {
  const base = registryBaseUrl(target);
  const tls = tlsFailureCode(error);
  if (tls) {
    // TLS spoken to a plaintext port is a wrong URL, not a certificate problem.
    const misaddressed = tls === 'ERR_SSL_WRONG_VERSION_NUMBER' || tls === 'ERR_SSL_PACKET_LENGTH_TOO_LONG';
    return new HotstateError(
      misaddressed ? 'HOTSTATE_ERR_REGISTRY_MISADDRESSED' : 'HOTSTATE_ERR_REGISTRY_AUTHENTICATION',
      `schema registry ${base}: TLS failed while ${doing} (${tls}): ${tlsFailureWords(tls)}`,
      { cause: error },
    );
  }
  const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
  const why = timedOut
    ? `no answer within ${String(REQUEST_TIMEOUT_MS / 1000)} s`
    : (firstSocketFailure(error, new URL(base).host) ?? (error as Error).message);
  return new HotstateError(
    'HOTSTATE_ERR_REGISTRY_UNAVAILABLE',
    `schema registry ${base} unavailable while ${doing}: ${why}`,
    { cause: error, retriable: true },
  );
}

const errorAnswer = z.object({ message: z.string() }).partial();

/** One Confluent-API request; the answer's body (JSON) or a HotstateError saying what was being done. */
export async function registryRequest(
  target: RegistryTarget,
  path: string,
  doing: string,
  init: { method?: string; body?: string } = {},
): Promise<unknown> {
  let response: FetchAnswer;
  const authorization = authorizationOf(target);
  const fetchAnswer = await fetchFor(typeof target === 'string' ? undefined : target.ca);
  try {
    response = await fetchAnswer(`${registryBaseUrl(target)}${path}`, {
      ...init,
      headers: {
        'content-type': 'application/vnd.schemaregistry.v1+json',
        accept: 'application/json',
        ...(authorization ? { authorization } : {}),
      },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw unreachable(target, doing, error);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (response.ok) return body;
  const detail = errorAnswer.safeParse(body).data?.message ?? `HTTP ${String(response.status)}`;
  if (response.status >= 500) {
    throw new HotstateError(
      'HOTSTATE_ERR_REGISTRY_UNAVAILABLE',
      `schema registry unavailable while ${doing}: ${detail}`,
      { retriable: true },
    );
  }
  if (response.status === 401 || response.status === 403) {
    throw new HotstateError(
      'HOTSTATE_ERR_REGISTRY_AUTHENTICATION',
      `schema registry refused ${authorization ? 'the credentials' : 'a request without credentials'} while ${doing} (HTTP ${String(response.status)})`,
    );
  }
  if (response.status === 404)
    throw new HotstateError(
      'HOTSTATE_ERR_REGISTRY_SCHEMA_NOT_FOUND',
      `${doing}: not found in the registry (${detail})`,
    );
  throw new HotstateError('HOTSTATE_ERR_REGISTRY_REJECTED', `registry refused ${doing}: ${detail}`);
}

/** A request whose answer must match `shape`; a registry answering something else is refused, never trusted. */
async function registryAnswer<T>(
  shape: z.ZodType<T>,
  url: RegistryTarget,
  path: string,
  doing: string,
  init?: { method?: string; body?: string },
): Promise<T> {
  const parsed = shape.safeParse(await registryRequest(url, path, doing, init));
  if (!parsed.success)
    throw new HotstateError(
      'HOTSTATE_ERR_REGISTRY_REJECTED',
      `unexpected registry answer while ${doing}: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
    );
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
export async function registerValueSchema(
  url: RegistryTarget,
  topic: string,
  schema: string | object,
  subject = valueSubject(topic),
): Promise<number> {
  const doing = `registering a schema under ${subject}`;
  const body = JSON.stringify({ schema: schemaText(schema), schemaType: 'AVRO' });
  return (await registryAnswer(idAnswer, url, `${subjectPath(subject)}/versions`, doing, { method: 'POST', body })).id;
}

/** Id of a schema already registered under the subject; never registers. */
export async function lookupSchemaId(url: RegistryTarget, subject: string, schema: string | object): Promise<number> {
  const body = JSON.stringify({ schema: schemaText(schema), schemaType: 'AVRO' });
  const found = await unlessMissing(
    registryAnswer(idAnswer, url, subjectPath(subject), `looking up the schema under ${subject}`, {
      method: 'POST',
      body,
    }),
  );
  if (!found)
    throw new HotstateError(
      'HOTSTATE_ERR_REGISTRY_SCHEMA_NOT_FOUND',
      `the given schema is not registered under ${subject}; register it first (hotstate schemas register) or allow registration`,
    );
  return found.id;
}

const registeredAnswer = z.object({
  id: z.number().int().nonnegative(),
  version: z.number().int(),
  schema: z.string(),
});

export type RegisteredSchema = z.infer<typeof registeredAnswer>;

/** The latest version under a subject, or undefined when the subject does not exist. */
export async function latestSchema(url: RegistryTarget, subject: string): Promise<RegisteredSchema | undefined> {
  return unlessMissing(
    registryAnswer(
      registeredAnswer,
      url,
      `${subjectPath(subject)}/versions/latest`,
      `reading the latest schema of ${subject}`,
    ),
  );
}

/** The schema text of an id, or undefined when the registry does not know the id. */
export async function schemaById(url: RegistryTarget, id: number): Promise<string | undefined> {
  const found = await unlessMissing(
    registryAnswer(
      z.object({ schema: z.string() }),
      url,
      `/schemas/ids/${String(id)}`,
      `fetching writer schema ${String(id)}`,
    ),
  );
  return found?.schema;
}

/** Every schema id registered under the subject (empty when the subject does not exist). */
export async function subjectSchemaIds(url: RegistryTarget, subject: string): Promise<Set<number>> {
  const doing = `listing the versions of ${subject}`;
  const versions = await unlessMissing(
    registryAnswer(z.array(z.number().int()), url, `${subjectPath(subject)}/versions`, doing),
  );
  const ids = new Set<number>();
  for (const version of versions ?? []) {
    const one = await unlessMissing(
      registryAnswer(
        idAnswer,
        url,
        `${subjectPath(subject)}/versions/${String(version)}`,
        `reading ${subject} version ${String(version)}`,
      ),
    );
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
export async function checkCompatibility(
  url: RegistryTarget,
  subject: string,
  schema: string,
): Promise<CompatibilityVerdict> {
  if ((await latestSchema(url, subject)) === undefined) return { compatible: true, messages: [], newSubject: true };
  const body = await registryAnswer(
    compatibilityAnswer,
    url,
    `/compatibility${subjectPath(subject)}/versions/latest?verbose=true`,
    `checking compatibility under ${subject}`,
    {
      method: 'POST',
      body: JSON.stringify({ schema }),
    },
  );
  return { compatible: body.is_compatible, messages: body.messages ?? [], newSubject: false };
}

/** The Confluent API's path on Apicurio Registry, suggested when a URL lacks it. */
const apicurioConfluentPath = '/apis/ccompat/v7';

/**
 * Checks that `target` serves the Confluent schema-registry API: `GET /subjects` must answer a JSON list. Without
 * this, a URL without its API path answers 404 for every schema id and every record would look like poison.
 * Throws HOTSTATE_ERR_REGISTRY_MISADDRESSED (naming what answered and, when the Apicurio path is missing and
 * answers there, the URL to use), _AUTHENTICATION, or _UNAVAILABLE (retriable) when nothing answers.
 */
export async function probeRegistry(target: RegistryTarget): Promise<void> {
  const base = registryBaseUrl(target);
  let answer: unknown;
  try {
    answer = await registryRequest(target, '/subjects', 'checking the registry URL');
  } catch (error) {
    if (
      isHotstateError(error, 'HOTSTATE_ERR_REGISTRY_UNAVAILABLE') &&
      closedWithoutAnswer(error) &&
      (await speaksTls(new URL(base)))
    ) {
      throw new HotstateError(
        'HOTSTATE_ERR_REGISTRY_MISADDRESSED',
        `${base} closed the connection without an HTTP answer, and that port speaks TLS: use ${base.replace(/^http:/, 'https:')}`,
        { cause: error },
      );
    }
    if (
      !isHotstateError(error) ||
      (error.code !== 'HOTSTATE_ERR_REGISTRY_SCHEMA_NOT_FOUND' && error.code !== 'HOTSTATE_ERR_REGISTRY_REJECTED')
    )
      throw error;
    throw new HotstateError(
      'HOTSTATE_ERR_REGISTRY_MISADDRESSED',
      `${base} does not serve the Confluent schema-registry API (GET ${base}/subjects: ${error.message})${await suggestion(target, base)}`,
      { cause: error },
    );
  }
  if (!Array.isArray(answer)) {
    throw new HotstateError(
      'HOTSTATE_ERR_REGISTRY_MISADDRESSED',
      `${base} does not serve the Confluent schema-registry API (GET ${base}/subjects answered something other than a list of subjects)${await suggestion(target, base)}`,
    );
  }
}

/** ", use …" when the Apicurio path is missing from the URL and the API answers there. */
async function suggestion(target: RegistryTarget, base: string): Promise<string> {
  if (base.endsWith(apicurioConfluentPath)) return '';
  const url = new URL(typeof target === 'string' ? target : target.url); // keeps credentials given in the URL
  url.pathname = apicurioConfluentPath;
  url.search = '';
  const withPath = typeof target === 'string' ? url.toString() : { ...target, url: url.toString() };
  const candidate = registryBaseUrl(withPath);
  const answers = await registryRequest(withPath, '/subjects', 'checking the suggested URL').then(
    Array.isArray,
    () => false,
  );
  return answers
    ? `; the Confluent API answers at ${candidate}: set the registry URL to that`
    : `; the registry URL must include the API's path (for Apicurio Registry: ${candidate})`;
}

const closedWithoutAnswer = (error: unknown): boolean =>
  [...errorCauses(error)].some((e) => e.code === 'UND_ERR_SOCKET' || e.code === 'ECONNRESET');

/** Whether an http:// URL's port completes a TLS handshake (only to tell the user to use https://; nothing is sent or trusted). */
function speaksTls(url: URL): Promise<boolean> {
  if (url.protocol !== 'http:') return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: url.hostname,
      port: Number(url.port || 80),
      servername: isIP(url.hostname) ? undefined : url.hostname,
      rejectUnauthorized: false,
      timeout: 2000,
    });
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.once('secureConnect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
    socket.once('timeout', () => {
      done(false);
    });
  });
}
