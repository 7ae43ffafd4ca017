// `hotstate emit`: NDJSON updates from a file or stdin. Everything is validated before anything is sent, unless
// --skip-invalid, which sends the valid lines and reports the others.
import { readFile } from 'node:fs/promises';
import { SingleBar } from 'cli-progress';
import { formatProblem, isHotstateError, type Problem } from '../lib/errors.ts';
import { parseNdjsonUpdates } from '../lib/input/ndjson.ts';
import type { PreparedRecord } from '../lib/producer/prepare.ts';
import type { HotstateProducer } from '../lib/producer/producer.ts';
import { exitCodeFor, exitCodes } from '../common/exit-codes.ts';

export interface EmitOptions {
  readonly file?: string;
  readonly skipInvalid: boolean;
  readonly chunk: number;
  readonly progress: boolean;
}

export type Print = (line: string) => void;

async function readInput(file: string | undefined): Promise<Buffer> {
  if (file && file !== '-') return readFile(file);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function emit(producer: HotstateProducer, options: EmitOptions, out: Print, err: Print): Promise<number> {
  const began = performance.now();
  const input = await readInput(options.file);
  const { updates, problems } = parseNdjsonUpdates(input);
  const records: PreparedRecord[] = [];
  const bad: Problem[] = [...problems];
  for (const { line, update } of updates) {
    const prepared = producer.prepare(update, line);
    if (prepared.ok) records.push(prepared.record);
    else bad.push(...prepared.problems);
  }
  bad.sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
  const badLines = new Set(bad.map((p) => p.at)).size;
  for (const problem of bad) err(`line ${formatProblem(problem).replace(/^#/, '')}`);
  if (bad.length > 0 && !options.skipInvalid) {
    err(
      `${String(badLines)} invalid line(s) of ${String(badLines + records.length)}; nothing was sent (use --skip-invalid to send the valid lines)`,
    );
    return exitCodes.invalid;
  }

  const bar =
    options.progress && records.length >= 1000
      ? new SingleBar({
          stream: process.stderr,
          format: 'emit [{bar}] {value}/{total} records {percentage}% ETA {eta}s',
        })
      : undefined;
  bar?.start(records.length, 0);
  let sent = 0;
  let token = '';
  try {
    for (let i = 0; i < records.length; i += options.chunk) {
      const result = await producer.sendPrepared(records.slice(i, i + options.chunk));
      sent += result.results.length;
      token = result.token;
      bar?.update(sent);
    }
  } catch (error) {
    bar?.stop();
    err(`hotstate: ${isHotstateError(error) ? `${error.code}: ` : ''}${(error as Error).message}`);
    err(`acknowledged before the failure: ${String(sent)} of ${String(records.length)} record(s)`);
    return exitCodeFor(error);
  }
  bar?.stop();
  const deletes = records.filter((r) => r.value === null).length;
  const seconds = (performance.now() - began) / 1000;
  out(
    `sent ${String(sent)} record(s) (${String(sent - deletes)} upserts, ${String(deletes)} deletes) to ${producer.topic} in ${seconds.toFixed(2)} s` +
      (badLines > 0 ? `; skipped ${String(badLines)} invalid line(s)` : ''),
  );
  if (token) out(`version token: ${token}`);
  return badLines > 0 ? exitCodes.partial : exitCodes.ok;
}
