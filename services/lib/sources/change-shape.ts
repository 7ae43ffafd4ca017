// What a value schema says about the records written with it: a plain entity (hotstate's own topics, any Avro
// producer), Debezium's change envelope (before/after/source/op), or a row flattened by Debezium's
// ExtractNewRecordState whose `__deleted` field marks deletes (its `rewrite` delete mode). Decided once per writer
// schema, so reading a plain topic costs nothing more.
import type { Type } from 'avsc';

export type ChangeShape = 'plain' | 'envelope' | 'flattened';

interface FieldLike {
  readonly name: string;
  readonly type: Type;
}

const fieldsOf = (type: Type): readonly FieldLike[] =>
  type.typeName === 'record' ? (type as unknown as { fields: FieldLike[] }).fields : [];

export function changeShapeOf(type: Type): ChangeShape {
  const names = new Set(fieldsOf(type).map((f) => f.name));
  if (names.has('op') && names.has('after') && names.has('before') && names.has('source')) return 'envelope';
  if (names.has('__deleted')) return 'flattened';
  return 'plain';
}

/** The row type inside an envelope (the record branch of `after`). */
export function rowTypeOf(envelope: Type): Type | undefined {
  const after = fieldsOf(envelope).find((f) => f.name === 'after')?.type;
  const branches = (after as unknown as { types?: Type[] } | undefined)?.types ?? (after ? [after] : []);
  return branches.find((t) => t.typeName === 'record');
}

/** Debezium's operations: create, update, read (snapshot), delete, truncate, message. */
export type ChangeOp = 'c' | 'u' | 'r' | 'd' | 't' | 'm';

/** Where a change came from, kept beside the value: Debezium's `source` block (lsn, txId, schema, table, ts_ms, …) and the operation. */
export type ChangeSource = Readonly<Record<string, unknown>> & { readonly op: ChangeOp };

export interface Change {
  /** The row after the change; undefined for a delete. */
  readonly row: unknown;
  readonly source?: ChangeSource;
  /** The database transaction it belongs to (Debezium's transaction metadata), when the connector provides it. */
  readonly transaction?: TransactionTag;
}

/** A change's place in its transaction: the transaction id and the table (`schema.table`) its END event counts it under. */
export interface TransactionTag {
  readonly id: string;
  readonly collection: string;
  /** Its position among the transaction's changes of that table (from 1): a change delivered twice counts once. */
  readonly order: number;
}

interface Envelope {
  readonly op: ChangeOp;
  readonly after: unknown;
  readonly source: Record<string, unknown> | null;
  readonly transaction?: { readonly id: string; readonly data_collection_order: number | bigint } | null;
}

/** A decoded value of the given shape as a change: a delete has no row. */
export function changeOf(shape: ChangeShape, decoded: unknown): Change {
  if (shape === 'envelope') {
    const envelope = decoded as Envelope;
    const source = { ...(envelope.source ?? {}), op: envelope.op };
    const transaction = transactionTag(envelope);
    const row = envelope.op === 'd' || envelope.after === null ? undefined : envelope.after;
    return transaction === undefined ? { row, source } : { row, source, transaction };
  }
  if (shape === 'flattened') {
    const deleted = (decoded as { __deleted?: unknown }).__deleted;
    return deleted === true || deleted === 'true' ? { row: undefined } : { row: decoded };
  }
  return { row: decoded };
}

/**
 * Debezium's PostgreSQL connector writes ids as `<xid>:<LSN of that event>` (BEGIN, END and each change differ after
 * the colon): the xid alone names the transaction.
 */
const transactionId = (id: string): string => (/^\d+:\d+$/.test(id) ? id.slice(0, id.indexOf(':')) : id);

/** Debezium names a table in END events as `schema.table` (PostgreSQL; `database.table` where there is no schema). */
function transactionTag(envelope: Envelope): TransactionTag | undefined {
  const transaction = envelope.transaction;
  const source = envelope.source;
  if (typeof transaction?.id !== 'string' || source === null) return undefined;
  const scope = source.schema ?? source.db;
  const collection = `${String(scope)}.${String(source.table)}`;
  return { id: transactionId(transaction.id), collection, order: Number(transaction.data_collection_order) };
}

/** The END event of a database transaction on Debezium's transaction topic: how many events each table got. */
export interface TransactionEnd {
  readonly id: string;
  /** Events per table (`schema.table`). */
  readonly counts: ReadonlyMap<string, number>;
}

/** A decoded value of the transaction topic as an END event; undefined for a BEGIN or anything else. */
export function transactionEndOf(decoded: unknown): TransactionEnd | undefined {
  const event = decoded as {
    status?: unknown;
    id?: unknown;
    data_collections?: ReadonlyArray<{ data_collection: string; event_count: number | bigint }> | null;
  };
  if (event.status !== 'END' || typeof event.id !== 'string') return undefined;
  const id = transactionId(event.id);
  const counts = new Map<string, number>();
  for (const { data_collection, event_count } of event.data_collections ?? [])
    counts.set(data_collection, Number(event_count));
  return { id, counts };
}
