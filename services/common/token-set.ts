// Bearer tokens of a service: one given inline and/or a file of tokens, each optionally limited to some datasets.
// The file is read again when it changes (checked at most once a second), so tokens rotate without a restart: add
// the new token, move clients over, remove the old one. Every configured token is compared, in constant time, on
// SHA-256 digests (equal lengths, no early exit); tokens never appear in errors or logs.
//
// File format, one token per line: `<token> [dataset,dataset...]`; no datasets = every dataset; `#` starts a comment.
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

/** Parses a token file; throws naming the line (never the token) when one is malformed. */
export function parseTokenFile(text: string, file: string): Grant[] {
  const grants: Grant[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const [token = '', datasets, ...rest] = line.split(/\s+/);
    const where = `${file} line ${String(index + 1)}`;
    if (rest.length > 0)
      throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', `${where}: expected "<token> [dataset,dataset...]"`);
    if (token.length < 16)
      throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', `${where}: use a token of at least 16 characters`);
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

  /** Re-reads the file when its modification time or size changed; a broken file keeps the previous tokens. */
  private reload(first = false): void {
    if (this.file === undefined) return;
    try {
      const stat = statSync(this.file);
      const version = `${String(stat.mtimeMs)}:${String(stat.size)}`;
      if (version === this.fileVersion) return;
      this.fromFile = parseTokenFile(readFileSync(this.file, 'utf8'), this.file);
      this.fileVersion = version;
    } catch (error) {
      if (first)
        throw error instanceof HotstateError
          ? error
          : new HotstateError(
              'HOTSTATE_ERR_CONFIG_INVALID',
              `cannot read the token file ${this.file}: ${(error as Error).message}`,
            );
      this.onReloadError(error as Error);
    }
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
