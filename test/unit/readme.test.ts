// The README and docs/ are part of the product: the README names the test command CI runs and stays short;
// docs/errors.md documents every error code.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../infra/settings.ts';
import { errorCodes } from '../../services/lib/errors.ts';

const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');

test('docs/errors.md documents every error code', () => {
  const errors = readFileSync(join(projectRoot, 'docs', 'errors.md'), 'utf8');
  for (const code of Object.keys(errorCodes))
    assert.match(errors, new RegExp(`\\| \`${code}\` \\|`), `${code} missing from docs/errors.md`);
});

test('the README stays short, and every docs/ page it links to exists', () => {
  assert.ok(readme.length <= 15 * 1024, `README.md is ${String(readme.length)} bytes (bar: 15 KB)`);
  for (const [, page] of readme.matchAll(/\]\((docs\/[a-z-]+\.md)/g))
    assert.ok(existsSync(join(projectRoot, page ?? '')), `${String(page)} exists`);
});

test('README names the commands that CI and users run', () => {
  assert.match(readme, /^npm test\b/m);
  assert.match(readme, /^npm run demo\b/m);
  assert.match(readFileSync(join(projectRoot, '.ci', 'run'), 'utf8'), /^npm test$/m);
});
