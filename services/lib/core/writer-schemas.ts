// Writer schemas of one subject, by id, fetched from the registry once and kept. An id the registry does not know,
// or knows under another subject, makes a poison record once the registry has shown it is one (probe); a registry
// that cannot be reached is an outage, retried with backoff by the caller, and a misaddressed one a refusal: neither
// is ever turned into poison.
import type { Resolver, Type } from 'avsc';
import { frameBody, parseAvroSchema } from '../codec/confluent-avro.ts';
import { HotstateError } from '../errors.ts';
import { probeRegistry, schemaById, subjectSchemaIds, type RegistryTarget } from '../registry.ts';
import { changeOf, changeShapeOf, rowTypeOf, type Change, type ChangeShape } from '../sources/change-shape.ts';

export interface WriterSchema {
  readonly id: number;
  readonly type: Type;
  /** A plain entity, Debezium's change envelope, or a flattened row with `__deleted`. */
  readonly shape: ChangeShape;
  /** Resolver to the caller's reader schema, when one was given (for an envelope: from its row type). */
  readonly resolver?: Resolver;
  /** The type the resolver reads from: the writer type, or an envelope's row type. */
  readonly rowType?: Type;
}

export type SchemaVerdict =
  | { ok: true; schema: WriterSchema }
  | { ok: false; reason: 'unknown-schema-id' | 'foreign-schema-id' | 'incompatible-writer-schema'; detail: string };

/** Where writer schemas come from: the registry, or an in-memory source in unit tests. */
export interface SchemaSource {
  /** The schema text of an id, or undefined when the registry does not know it; throws HOTSTATE_ERR_REGISTRY_UNAVAILABLE on an outage. */
  schemaText(id: number): Promise<string | undefined>;
  /** Every id registered under the subject (empty when the subject does not exist). */
  subjectIds(subject: string): Promise<Set<number>>;
  /** Throws when the source itself is misaddressed or failing (registry-errors of probeRegistry), so that a missing
   *  id is never taken for poison because of it. */
  probe?(): Promise<void>;
}

export function registrySchemaSource(registryUrl: RegistryTarget): SchemaSource {
  return {
    schemaText: (id) => schemaById(registryUrl, id),
    subjectIds: (subject) => subjectSchemaIds(registryUrl, subject),
    probe: () => probeRegistry(registryUrl),
  };
}

export class WriterSchemas {
  private readonly source: SchemaSource;
  private readonly subject: string;
  private readonly reader: Type | undefined;
  private readonly verdicts = new Map<number, SchemaVerdict>();
  /** Records decoded per writer schema id. */
  readonly counts = new Map<number, number>();

  constructor(source: SchemaSource, subject: string, reader?: Type) {
    this.source = source;
    this.subject = subject;
    this.reader = reader;
  }

  verdict(id: number): SchemaVerdict | undefined {
    return this.verdicts.get(id);
  }

  /** Checks that the registry answers as a registry (nothing to check for a source without a probe). */
  async probe(): Promise<void> {
    await this.source.probe?.();
  }

  /** Settles every id that has no verdict yet; throws HOTSTATE_ERR_REGISTRY_UNAVAILABLE on an outage and
   *  HOTSTATE_ERR_REGISTRY_MISADDRESSED when the registry URL does not serve the Confluent API. */
  async settle(ids: Iterable<number>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.verdicts.has(id));
    if (missing.length === 0) return;
    const own = await this.source.subjectIds(this.subject);
    const texts = new Map<number, string | undefined>();
    for (const id of missing) texts.set(id, await this.source.schemaText(id));
    // An id the registry does not know, or not under this subject, is poison only if the registry itself answers
    // as one: a misaddressed or failing registry throws here instead (the view waits or fails with the reason).
    if (missing.some((id) => texts.get(id) === undefined || !own.has(id))) await this.source.probe?.();
    for (const id of missing) {
      const text = texts.get(id);
      if (text === undefined) {
        this.verdicts.set(id, {
          ok: false,
          reason: 'unknown-schema-id',
          detail: `schema id ${String(id)} is not in the registry`,
        });
        continue;
      }
      if (!own.has(id)) {
        this.verdicts.set(id, {
          ok: false,
          reason: 'foreign-schema-id',
          detail: `schema id ${String(id)} is not registered under ${this.subject}`,
        });
        continue;
      }
      const type = parseAvroSchema(text);
      const shape = changeShapeOf(type);
      if (!this.reader) {
        this.verdicts.set(id, { ok: true, schema: { id, type, shape } });
        continue;
      }
      try {
        const rowType = (shape === 'envelope' ? rowTypeOf(type) : type) ?? type;
        const resolver = this.reader.createResolver(rowType);
        this.verdicts.set(id, { ok: true, schema: { id, type, shape, resolver, rowType } });
      } catch (error) {
        this.verdicts.set(id, {
          ok: false,
          reason: 'incompatible-writer-schema',
          detail: `writer schema ${String(id)} cannot be read with the reader schema: ${(error as Error).message}`,
        });
      }
    }
  }

  /** The entity a framed value holds (an envelope's row), read with the reader schema when one was given. */
  decode(id: number, bytes: Buffer): unknown {
    return this.decodeChange(id, bytes).row;
  }

  /** The entity a framed value holds and, for a change envelope, where the change came from. */
  decodeChange(id: number, bytes: Buffer): Change {
    const verdict = this.verdicts.get(id);
    if (!verdict?.ok)
      throw new HotstateError('HOTSTATE_ERR_SERIALIZATION_DECODE', `no usable writer schema ${String(id)}`);
    const { type, shape, resolver, rowType } = verdict.schema;
    const body = frameBody(bytes);
    if (shape === 'plain')
      return { row: resolver && this.reader ? this.reader.fromBuffer(body, resolver) : type.fromBuffer(body) };
    const change = changeOf(shape, type.fromBuffer(body));
    if (!resolver || !this.reader || !rowType || change.row === undefined) return change;
    // Reader schemas apply to the row: re-read it through the resolver.
    return { ...change, row: this.reader.fromBuffer(rowType.toBuffer(change.row), resolver) };
  }
}
