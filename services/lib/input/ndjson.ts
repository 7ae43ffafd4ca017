// NDJSON update streams for `hotstate emit`: one JSON object per line,
//   {"key": "ACME", "value": {...}}              upsert
//   {"key": "ACME", "value": null}               delete (or {"key": "ACME", "delete": true})
// with optional "headers": {"source", "sourceVersion", "traceId"}. Lines are decoded as strict UTF-8.
import type { Problem } from '../errors.ts';
import { parseJsonExact } from '../codec/json-values.ts';
import type { Update, WriteHeaders } from '../producer/prepare.ts';

export interface NumberedUpdate {
  readonly line: number;
  readonly update: Update;
}

export interface ParsedNdjson {
  readonly updates: NumberedUpdate[];
  readonly problems: Problem[];
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const allowed = new Set(['key', 'value', 'delete', 'headers']);
const headerFields = new Set(['source', 'sourceVersion', 'traceId']);

export function parseNdjsonUpdates(input: Buffer): ParsedNdjson {
  const updates: NumberedUpdate[] = [];
  const problems: Problem[] = [];
  let start = 0;
  for (let line = 1; start < input.length; line++) {
    let end = input.indexOf(0x0a, start);
    if (end === -1) end = input.length;
    const bytes = input.subarray(start, end);
    start = end + 1;
    const result = parseLine(bytes, line);
    if (result === undefined) continue;
    if ('reason' in result) problems.push(result);
    else updates.push({ line, update: result });
  }
  return { updates, problems };
}

function parseLine(bytes: Buffer, line: number): Update | Problem | undefined {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { at: line, path: '', reason: 'the line is not valid UTF-8' };
  }
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = parseJsonExact(text);
  } catch (error) {
    return { at: line, path: '', reason: `malformed JSON: ${(error as Error).message}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { at: line, path: '', reason: 'expected a JSON object with "key" and "value"' };
  const record = parsed as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !allowed.has(k));
  if (unknown.length > 0)
    return {
      at: line,
      path: unknown.join(', '),
      reason: 'unknown property; a line has "key", "value" (null deletes), optionally "delete": true and "headers"',
    };
  if (typeof record.key !== 'string') return { at: line, path: 'key', reason: 'missing or not a string' };
  const isDelete = record.delete === true || record.value === null;
  if (record.delete !== undefined && typeof record.delete !== 'boolean')
    return { at: line, key: record.key, path: 'delete', reason: 'must be true or false' };
  if (!isDelete && (typeof record.value !== 'object' || Array.isArray(record.value))) {
    return {
      at: line,
      key: record.key,
      path: 'value',
      reason: 'missing: an upsert needs "value" (an object); a delete needs "value": null or "delete": true',
    };
  }
  const headers = parseHeaders(record.headers);
  if (typeof headers === 'string') return { at: line, key: record.key, path: 'headers', reason: headers };
  return { key: record.key, value: isDelete ? null : record.value, ...(headers ? { headers } : {}) };
}

function parseHeaders(raw: unknown): WriteHeaders | string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'must be an object';
  for (const [name, value] of Object.entries(raw)) {
    if (!headerFields.has(name))
      return `unknown header ${JSON.stringify(name)}; allowed: ${[...headerFields].join(', ')}`;
    if (typeof value !== 'string') return `header ${name} must be a string`;
  }
  return raw;
}
