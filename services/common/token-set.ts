// Bearer tokens of a service: one given inline and/or a file of tokens, each optionally limited to some datasets.
// The file is read again when it changes (checked at most once a second), so tokens rotate without a restart: add
// the new token, move clients over, remove the old one. Every configured token is compared, in constant time, on
// SHA-256 digests (equal lengths, no early exit); tokens never appear in errors or logs.
//
// File format, one token per line: `<token> [dataset,dataset...]`; no datasets = every dataset; `#` starts a comment.
// A reload fails closed: malformed lines are dropped and reported, the valid ones replace the old set (a token the
// file no longer lists stops working whatever else the edit holds); a file that cannot be read leaves only the
// inline token. At start, any malformed line refuses the start instead.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { HotstateError } from '../lib/errors.ts';

interface Grant {
  readonly digest: Buffer;
  /** undefined: every dataset. */
  readonly datasets: ReadonlySet<string> | undefined;
}

export type TokenVerdict = 'ok' | 'unknown' | 'forbidden';

const digestOf = (token: string): Buffer => createHash('sha256').update(token).digest();

/**
 * Parses a token file. A malformed line is named (never its token): thrown, or — given `problems` — collected there
 * and left out.
 */
export function parseTokenFile(text: string, file: string, problems?: string[]): Grant[] {
  const grants: Grant[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const [token = '', datasets, ...rest] = line.split(/\s+/);
    const where = `${file} line ${String(index + 1)}`;
    const problem =
      rest.length > 0
        ? `${where}: expected "<token> [dataset,dataset...]"`
        : token.length < 16
          ? `${where}: use a token of at least 16 characters`
          : undefined;
    if (problem !== undefined) {
      if (!problems) throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', problem);
      problems.push(problem);
      return;
    }
    grants.push({
      digest: digestOf(token),
      datasets: datasets === undefined ? undefined : new Set(datasets.split(',').filter(Boolean)),
    });
  });
  return grants;
}

export class TokenSet {
  private readonly inline: Grant[];
  private readonly file: string | undefined;
  private fromFile: Grant[] = [];
  private fileVersion = '';
  private checkedAt = 0;
  private readonly onReloadError: (error: Error) => void;

  constructor(options: {
    token?: string | undefined;
    file?: string | undefined;
    onReloadError?: (error: Error) => void;
  }) {
    this.inline = options.token === undefined ? [] : [{ digest: digestOf(options.token), datasets: undefined }];
    this.file = options.file;
    this.onReloadError = options.onReloadError ?? (() => undefined);
    this.reload(true);
  }

  get size(): number {
    return this.inline.length + this.fromFile.length;
  }

  /** Re-reads the file when its modification time or size changed (failing closed: see the top of this file). */
  private reload(first = false): void {
    if (this.file === undefined) return;
    try {
      const stat = statSync(this.file);
      const version = `${String(stat.mtimeMs)}:${String(stat.size)}`;
      if (version === this.fileVersion) return;
      const problems: string[] = [];
      this.fromFile = parseTokenFile(readFileSync(this.file, 'utf8'), this.file, first ? undefined : problems);
      this.fileVersion = version;
      if (problems.length > 0)
        this.onReloadError(
          new HotstateError(
            'HOTSTATE_ERR_CONFIG_INVALID',
            `token file reloaded without its malformed lines (those tokens do not work): ${problems.join('; ')}`,
          ),
        );
    } catch (error) {
      if (first)
        throw error instanceof HotstateError
          ? error
          : new HotstateError(
              'HOTSTATE_ERR_CONFIG_INVALID',
              `cannot read the token file ${this.file}: ${(error as Error).message}`,
            );
      this.fromFile = [];
      this.fileVersion = '';
      this.onReloadError(
        new HotstateError(
          'HOTSTATE_ERR_CONFIG_INVALID',
          `cannot read the token file ${this.file} (its tokens do not work until it can be read): ${(error as Error).message}`,
        ),
      );
    }
  }

  /** Of `datasets`, those the request's token may use (all of them for an unlimited token; none for an unknown one). */
  allowed(authorization: string | undefined, datasets: readonly string[]): string[] {
    return datasets.filter((dataset) => this.check(authorization, dataset) === 'ok');
  }

  /** Whether `Authorization: Bearer <token>` names a known token, and one allowed for `dataset` (when given). */
  check(authorization: string | undefined, dataset: string | undefined): TokenVerdict {
    if (Date.now() - this.checkedAt >= 1000) {
      this.checkedAt = Date.now();
      this.reload();
    }
    const given = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    const digest = digestOf(given ?? '');
    let match: Grant | undefined;
    for (const grant of [...this.inline, ...this.fromFile]) {
      if (timingSafeEqual(grant.digest, digest) && match === undefined) match = grant; // no early exit
    }
    if (given === undefined || match === undefined) return 'unknown';
    return dataset === undefined || match.datasets === undefined || match.datasets.has(dataset) ? 'ok' : 'forbidden';
  }
}

/** The 401 or 403 answer for a request's bearer token (`what` the tokens allow, e.g. "writes"), or undefined when allowed. */
export function tokenRefusal(
  tokens: TokenSet,
  authorization: string | undefined,
  dataset: string | undefined,
  what: string,
): HotstateError | undefined {
  const verdict = tokens.check(authorization, dataset);
  if (verdict === 'unknown')
    return new HotstateError(
      'HOTSTATE_ERR_AUTH_REQUIRED',
      `${what} need Authorization: Bearer <token> with a valid token`,
    );
  if (verdict === 'forbidden')
    return new HotstateError(
      'HOTSTATE_ERR_AUTH_FORBIDDEN',
      `this token is not allowed for dataset ${JSON.stringify(dataset ?? '')}`,
    );
  return undefined;
}
