// The README is part of the product: it must name the test command CI runs and document every error code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../infra/settings.ts';
import { errorCodes } from '../../services/lib/errors.ts';

const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');

test('README documents every error code', () => {
  for (const code of Object.keys(errorCodes)) assert.match(readme, new RegExp(`\\| \`${code}\` \\|`), `${code} missing from README`);
});

test('README names the commands that CI and users run', () => {
  assert.match(readme, /^npm test\b/m);
  assert.match(readme, /^npm run demo\b/m);
  assert.match(readFileSync(join(projectRoot, '.ci', 'run'), 'utf8'), /^npm test$/m);
});
