// Writer schemas of one subject, by id, fetched from the registry once and kept. An id the registry does not know,
// or knows under another subject, makes a poison record; a registry that cannot be reached is an outage, retried
// with backoff by the caller and never turned into poison.
import type { Resolver, Type } from 'avsc';
import { parseAvroSchema } from '../codec/confluent-avro.ts';
import { HotstateError } from '../errors.ts';

export interface WriterSchema {
  readonly id: number;
  readonly type: Type;
  /** Resolver to the caller's reader schema, when one was given. */
  readonly resolver?: Resolver;
}

export type SchemaVerdict = { ok: true; schema: WriterSchema } | { ok: false; reason: 'unknown-schema-id' | 'foreign-schema-id' | 'incompatible-writer-schema'; detail: string };

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(5000) });
  } catch (error) {
    throw new HotstateError('HOTSTATE_ERR_REGISTRY_UNAVAILABLE', `schema registry unreachable (${url}): ${(error as Error).message}`, { cause: error, retriable: true });
  }
  if (response.status >= 500) throw new HotstateError('HOTSTATE_ERR_REGISTRY_UNAVAILABLE', `schema registry answered HTTP ${String(response.status)} for ${url}`, { retriable: true });
  return { status: response.status, body: await response.json().catch(() => undefined) };
}

export class WriterSchemas {
  private readonly url: string;
  private readonly subject: string;
  private readonly reader: Type | undefined;
  private readonly verdicts = new Map<number, SchemaVerdict>();
  /** Records decoded per writer schema id. */
  readonly counts = new Map<number, number>();

  constructor(registryUrl: string, subject: string, reader?: Type) {
    this.url = registryUrl.replace(/\/$/, '');
    this.subject = subject;
    this.reader = reader;
  }

  verdict(id: number): SchemaVerdict | undefined {
    return this.verdicts.get(id);
  }

  /** Settles every id that has no verdict yet; throws HOTSTATE_ERR_REGISTRY_UNAVAILABLE on an outage. */
  async settle(ids: Iterable<number>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.verdicts.has(id));
    if (missing.length === 0) return;
    const own = await this.subjectIds();
    for (const id of missing) {
      const fetched = await getJson(`${this.url}/schemas/ids/${String(id)}`);
      if (fetched.status === 404) {
        this.verdicts.set(id, { ok: false, reason: 'unknown-schema-id', detail: `schema id ${String(id)} is not in the registry` });
        continue;
      }
      if (fetched.status !== 200) throw new HotstateError('HOTSTATE_ERR_REGISTRY_REJECTED', `registry answered HTTP ${String(fetched.status)} for schema id ${String(id)}`);
      if (!own.has(id)) {
        this.verdicts.set(id, { ok: false, reason: 'foreign-schema-id', detail: `schema id ${String(id)} is not registered under ${this.subject}` });
        continue;
      }
      const type = parseAvroSchema((fetched.body as { schema: string }).schema);
      if (!this.reader) {
        this.verdicts.set(id, { ok: true, schema: { id, type } });
        continue;
      }
      try {
        this.verdicts.set(id, { ok: true, schema: { id, type, resolver: this.reader.createResolver(type) } });
      } catch (error) {
        this.verdicts.set(id, { ok: false, reason: 'incompatible-writer-schema', detail: `writer schema ${String(id)} cannot be read with the reader schema: ${(error as Error).message}` });
      }
    }
  }

  decode(id: number, bytes: Buffer): unknown {
    const verdict = this.verdicts.get(id);
    if (!verdict?.ok) throw new HotstateError('HOTSTATE_ERR_SERIALIZATION_DECODE', `no usable writer schema ${String(id)}`);
    const body = bytes.subarray(5);
    return verdict.schema.resolver && this.reader
      ? this.reader.fromBuffer(body, verdict.schema.resolver)
      : verdict.schema.type.fromBuffer(body);
  }

  private async subjectIds(): Promise<Set<number>> {
    const versions = await getJson(`${this.url}/subjects/${encodeURIComponent(this.subject)}/versions`);
    if (versions.status === 404) return new Set();
    const ids = new Set<number>();
    for (const version of (versions.body as number[] | undefined) ?? []) {
      const one = await getJson(`${this.url}/subjects/${encodeURIComponent(this.subject)}/versions/${String(version)}`);
      const id = (one.body as { id?: number } | undefined)?.id;
      if (typeof id === 'number') ids.add(id);
    }
    return ids;
  }
}
