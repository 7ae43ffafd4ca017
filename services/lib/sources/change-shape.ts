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
}

interface Envelope {
  readonly op: ChangeOp;
  readonly after: unknown;
  readonly source: Record<string, unknown> | null;
}

/** A decoded value of the given shape as a change: a delete has no row. */
export function changeOf(shape: ChangeShape, decoded: unknown): Change {
  if (shape === 'envelope') {
    const envelope = decoded as Envelope;
    const source = { ...(envelope.source ?? {}), op: envelope.op };
    return envelope.op === 'd' || envelope.after === null
      ? { row: undefined, source }
      : { row: envelope.after, source };
  }
  if (shape === 'flattened') {
    const deleted = (decoded as { __deleted?: unknown }).__deleted;
    return deleted === true || deleted === 'true' ? { row: undefined } : { row: decoded };
  }
  return { row: decoded };
}
