// One registry of error codes: each follows HOTSTATE_ERR_<AREA>_<WHAT>, has one HTTP status and one exit code, and
// the README's error table says exactly that.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../infra/settings.ts';
import { exitCodeByCode } from '../../services/common/exit-codes.ts';
import { httpStatusByCode } from '../../services/common/http.ts';
import { errorCodes, type ErrorCode } from '../../services/lib/errors.ts';

const codes = Object.keys(errorCodes) as ErrorCode[];

test('every code follows HOTSTATE_ERR_<AREA>_<WHAT>', () => {
  assert.deepEqual(
    codes.filter((code) => !/^HOTSTATE_ERR_[A-Z]+_[A-Z][A-Z_]*$/.test(code)),
    [],
  );
});

test('the error table (docs/errors.md) lists every code with its HTTP status, exit code and meaning', () => {
  const readme = readFileSync(join(projectRoot, 'docs', 'errors.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `(HOTSTATE_ERR_[A-Z_]+)` \| (\d+) \| (\d+) \| (.+) \|$/gm)].map((m) => [
    m[1],
    Number(m[2]),
    Number(m[3]),
    m[4],
  ]);
  assert.deepEqual(
    rows,
    codes.map((code) => [code, httpStatusByCode[code], exitCodeByCode[code], errorCodes[code]]),
  );
});

test('every code the source throws is registered, and every registered code is thrown somewhere', () => {
  const used = new Set(
    execFileSync('grep', ['-rhoE', "'HOTSTATE_ERR_[A-Z_]+'", join(projectRoot, 'services')], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((s) => s.slice(1, -1)),
  );
  assert.deepEqual(
    [...used].filter((code) => !(code in errorCodes)),
    [],
    'thrown but not registered',
  );
  assert.deepEqual(
    codes.filter((code) => !used.has(code)),
    [],
    'registered but never used',
  );
});
