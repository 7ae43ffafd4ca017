// A file holding a whole dataset, for `hotstate watch`: JSON (an object of key → record, or an array of records
// with a key field), NDJSON (one record per line) or CSV (a header row; cells converted by the schema's field
// types). A file that looks half-written (empty, cut-off JSON, no final newline) is refused as a whole.
import { parse as parseCsv } from 'csv-parse/sync';
import type { Type } from 'avsc';
import { HotstateError } from '../errors.ts';
import { avroNode } from '../codec/avro-types.ts';
import { parseJsonExact } from '../codec/json-values.ts';

export type DatasetFormat = 'json' | 'ndjson' | 'csv';

export interface DatasetFileOptions {
  readonly format: DatasetFormat;
  /** Field holding the key in array/NDJSON/CSV records. @defaultValue `key` */
  readonly keyField?: string;
  /** The writer schema: the key field is dropped from values unless the schema declares it; CSV cells are typed by it. */
  readonly type: Type;
}

const malformed = (file: string, why: string): HotstateError =>
  new HotstateError('HOTSTATE_ERR_INPUT_MALFORMED', `${file}: ${why}; nothing emitted`);

export function formatOf(file: string): DatasetFormat | undefined {
  const lower = file.toLowerCase();
  if (lower.endsWith('.ndjson') || lower.endsWith('.jsonl')) return 'ndjson';
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.csv')) return 'csv';
  return undefined;
}

export function parseDatasetFile(file: string, content: Buffer, options: DatasetFileOptions): Map<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(content);
  } catch {
    throw malformed(file, 'not valid UTF-8');
  }
  if (text.trim() === '') throw malformed(file, 'the file is empty (probably being written)');
  const keyField = options.keyField ?? 'key';
  const fields = new Map((avroNode(options.type).fields ?? []).map((f) => [f.name, f.type]));
  const dataset = new Map<string, unknown>();
  const add = (key: unknown, value: unknown, where: string): void => {
    if (typeof key !== 'string')
      throw malformed(file, `${where}: key field ${JSON.stringify(keyField)} is missing or not a string`);
    if (dataset.has(key)) throw malformed(file, `${where}: duplicate key ${JSON.stringify(key)}`);
    dataset.set(key, value);
  };
  const fromRecord = (record: unknown, where: string): void => {
    if (typeof record !== 'object' || record === null || Array.isArray(record))
      throw malformed(file, `${where}: expected an object`);
    const { [keyField]: key, ...rest } = record as Record<string, unknown>;
    add(key, fields.has(keyField) ? record : rest, where);
  };

  switch (options.format) {
    case 'json': {
      let parsed: unknown;
      try {
        parsed = parseJsonExact(text);
      } catch (error) {
        throw malformed(file, `not complete JSON (${(error as Error).message})`);
      }
      if (Array.isArray(parsed))
        parsed.forEach((record, i) => {
          fromRecord(record, `element ${String(i)}`);
        });
      else if (typeof parsed === 'object' && parsed !== null)
        for (const [key, value] of Object.entries(parsed)) add(key, value, `key ${JSON.stringify(key)}`);
      else throw malformed(file, 'expected an object of key → record or an array of records');
      break;
    }
    case 'ndjson': {
      if (!text.endsWith('\n')) throw malformed(file, 'the last line has no newline (probably being written)');
      text.split('\n').forEach((line, i) => {
        if (line.trim() === '') return;
        let record: unknown;
        try {
          record = parseJsonExact(line);
        } catch (error) {
          throw malformed(file, `line ${String(i + 1)}: malformed JSON (${(error as Error).message})`);
        }
        fromRecord(record, `line ${String(i + 1)}`);
      });
      break;
    }
    case 'csv': {
      if (!text.endsWith('\n')) throw malformed(file, 'the last line has no newline (probably being written)');
      let rows: Array<Record<string, string>>;
      try {
        rows = parseCsv<Record<string, string>>(text, { columns: true, skip_empty_lines: true, trim: true });
      } catch (error) {
        throw malformed(file, `malformed CSV (${(error as Error).message})`);
      }
      rows.forEach((row, i) => {
        const where = `row ${String(i + 2)}`;
        const record: Record<string, unknown> = {};
        for (const [column, cell] of Object.entries(row)) {
          const type = fields.get(column);
          record[column] =
            column === keyField && !type ? cell : cellValue(cell, type, file, `${where} column ${column}`);
        }
        fromRecord(record, where);
      });
      break;
    }
  }
  return dataset;
}

/** Converts a CSV cell by the field's Avro type; a cell that does not convert is an error, never a guess. */
function cellValue(cell: string, type: Type | undefined, file: string, where: string): unknown {
  if (!type) return cell; // undeclared column: schema validation reports it
  const { typeName: name, types: branches } = avroNode(type);
  if (branches) {
    if (cell === '' && branches.some((t) => avroNode(t).typeName === 'null')) return null;
    const other = branches.find((t) => avroNode(t).typeName !== 'null');
    return cellValue(cell, other, file, where);
  }
  switch (name) {
    case 'abstract:long': {
      // exact: digits beyond 2^53 stay exact (exact-long.ts)
      if (!/^-?\d+$/.test(cell)) throw malformed(file, `${where}: ${JSON.stringify(cell)} is not an integer`);
      const n = BigInt(cell);
      return Number.isSafeInteger(Number(n)) ? Number(n) : n;
    }
    case 'int':
    case 'float':
    case 'double': {
      const n = Number(cell);
      if (cell === '' || !Number.isFinite(n))
        throw malformed(file, `${where}: ${JSON.stringify(cell)} is not a number`);
      return n;
    }
    case 'boolean':
      if (cell === 'true' || cell === 'false') return cell === 'true';
      throw malformed(file, `${where}: ${JSON.stringify(cell)} is not true or false`);
    case 'string':
    case 'enum':
      return cell;
    default:
      try {
        return parseJsonExact(cell); // arrays, maps, records: JSON in the cell
      } catch {
        throw malformed(file, `${where}: a ${name} cell must hold JSON`);
      }
  }
}
