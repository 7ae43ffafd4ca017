// The local base image is built from the Debian archive this machine's apt uses: both source formats are read,
// the release itself is chosen over -updates/-security, and a machine without one gets a clear error.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { debianSource } from '../../infra/image/base-image.ts';

function aptDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'apt-'));
  mkdirSync(join(dir, 'sources.list.d'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('deb822 sources: the release, not the security archive or -updates, and disabled entries are ignored', () => {
  const dir = aptDir({
    'sources.list.d/other.sources':
      'Types: deb\nURIs: http://disabled.example/debian\nSuites: trixie\nComponents: main\nEnabled: no\n',
    'sources.list.d/debian.sources': [
      'Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n',
      'Types: deb deb-src\nURIs: http://mirror.example/debian\nSuites: bookworm-updates bookworm\nComponents: main\n',
    ].join('\n'),
  });
  assert.deepEqual(debianSource(dir), { mirror: 'http://mirror.example/debian', suite: 'bookworm' });
});

test('one-line sources.list with options', () => {
  const dir = aptDir({
    'sources.list': '# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian trixie main\n',
  });
  assert.deepEqual(debianSource(dir), { mirror: 'http://mirror.example/debian', suite: 'trixie' });
});

test('no Debian archive: the error names the files and the settings that replace them', () => {
  assert.throws(
    () => debianSource(aptDir({})),
    /no Debian archive found in .*sources\.list.*HOTSTATE_DEBIAN_MIRROR and HOTSTATE_DEBIAN_SUITE/,
  );
});
