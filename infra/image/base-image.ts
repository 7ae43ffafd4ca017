// A local base image equivalent to `node:24-slim`, for machines that reach Debian's packages and the npm registry
// but no image registry: a minimal Debian (debootstrap) with CA certificates, the Node binary from the npm package
// `node-linux-<arch>` at the version the project pins, npm from its npm package, and the `node` user (uid 1000).
// Mirror and suite are read from this machine's apt sources, so whatever mirror apt uses here is used.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../settings.ts';
import { run, type Engine } from './engine.ts';

/** npm as the base ships it (node:24 images bundle npm 11). */
export const npmVersion = '11.19.1';

export interface DebianSource {
  readonly mirror: string;
  readonly suite: string;
}

/** The main Debian archive and release this machine's apt uses (deb822 `.sources` files or `sources.list`). */
export function debianSource(aptDir = '/etc/apt'): DebianSource {
  const entries: DebianSource[] = [];
  const listDir = join(aptDir, 'sources.list.d');
  const files = existsSync(listDir) ? readdirSync(listDir).map((f) => join(listDir, f)) : [];
  for (const file of [join(aptDir, 'sources.list'), ...files]) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.sources')) {
      for (const block of text.split(/\n\s*\n/)) {
        const field = (name: string): string[] =>
          (new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(block)?.[1] ?? '').split(/\s+/).filter(Boolean);
        if (!field('Types').includes('deb') || /^\s*Enabled:\s*no/im.test(block)) continue;
        for (const mirror of field('URIs')) for (const suite of field('Suites')) entries.push({ mirror, suite });
      }
    } else if (file.endsWith('.list')) {
      for (const match of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/gm))
        entries.push({ mirror: match[1] ?? '', suite: match[2] ?? '' });
    }
  }
  // The release itself: not -updates, -security or -backports, and not the security archive.
  const main = entries.find((e) => /^[a-z]+$/.test(e.suite) && !e.mirror.includes('security'));
  if (!main)
    throw new Error(
      `no Debian archive found in ${aptDir}/sources.list or ${listDir}/*.sources; set HOTSTATE_DEBIAN_MIRROR and HOTSTATE_DEBIAN_SUITE`,
    );
  return main;
}

/** The Node version the project pins as its `node` devDependency: the runtime CI tests with. */
export function pinnedNodeVersion(): string {
  const manifest = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {
    devDependencies?: Record<string, string>;
  };
  const version = manifest.devDependencies?.node;
  if (!version || !/^\d+\.\d+\.\d+$/.test(version))
    throw new Error('package.json must pin devDependencies.node to an exact version');
  return version;
}

export function localBaseRef(nodeVersion: string, suite: string): string {
  return `localhost/hotstate-node:${nodeVersion}-${suite}-slim`;
}

/** Downloads one npm package's tarball into `dir` through npm (its registry and CA settings apply). */
async function npmPack(spec: string, dir: string): Promise<string> {
  const name = (await run('npm', ['pack', spec, '--pack-destination', dir, '--silent'])).trim().split('\n').pop() ?? '';
  return join(dir, name);
}

function withoutDocs(root: string): void {
  for (const dir of [
    'usr/share/doc',
    'usr/share/man',
    'usr/share/info',
    'usr/share/locale',
    'var/lib/apt/lists',
    'var/cache/apt',
    'var/log',
  ]) {
    const path = join(root, dir);
    if (!existsSync(path)) continue;
    for (const entry of readdirSync(path)) rmSync(join(path, entry), { recursive: true, force: true });
  }
}

export interface BaseImageOptions {
  readonly engine: Engine;
  readonly nodeVersion: string;
  readonly source: DebianSource;
  readonly say: (line: string) => void;
}

/** Builds the base image and returns its reference. Needs root (debootstrap) and the debootstrap package. */
export async function buildLocalBase({ engine, nodeVersion, source, say }: BaseImageOptions): Promise<string> {
  if (process.getuid?.() !== 0)
    throw new Error('building the local base image needs root (debootstrap); or pass --base <image> with Node 24');
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch as string];
  if (!arch) throw new Error(`no Node binary package for ${process.arch}`);
  const ref = localBaseRef(nodeVersion, source.suite);
  const work = mkdtempSync(join(tmpdir(), 'hotstate-base-'));
  const root = join(work, 'rootfs');
  try {
    say(`debootstrap ${source.suite} (minbase + ca-certificates) from this machine's apt mirror`);
    await run('debootstrap', ['--variant=minbase', '--include=ca-certificates', source.suite, root, source.mirror]);

    say(`Node ${nodeVersion} (npm package node-linux-${arch}) and npm ${npmVersion}`);
    const nodeTarball = await npmPack(`node-linux-${arch}@${nodeVersion}`, work);
    await run('tar', ['-xzf', nodeTarball, '-C', work, 'package/bin/node']);
    copyFileSync(join(work, 'package', 'bin', 'node'), join(root, 'usr', 'local', 'bin', 'node'));
    chmodSync(join(root, 'usr', 'local', 'bin', 'node'), 0o755);
    const npmDir = join(root, 'usr', 'local', 'lib', 'node_modules', 'npm');
    mkdirSync(npmDir, { recursive: true });
    await run('tar', ['-xzf', await npmPack(`npm@${npmVersion}`, work), '-C', npmDir, '--strip-components=1']);
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr', 'local', 'bin', 'npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(root, 'usr', 'local', 'bin', 'npx'));

    say('user node (uid 1000), as in the official Node images; documentation and apt caches removed');
    await run('chroot', [root, 'groupadd', '--gid', '1000', 'node']);
    await run('chroot', [
      root,
      'useradd',
      '--uid',
      '1000',
      '--gid',
      'node',
      '--shell',
      '/bin/sh',
      '--create-home',
      'node',
    ]);
    await run('chroot', [root, 'node', '--version']);
    withoutDocs(root);

    say(`importing as ${ref}`);
    const tarball = join(work, 'rootfs.tar');
    await run('tar', ['--numeric-owner', '-cf', tarball, '-C', root, '.']);
    await run(engine.name, [
      'import',
      '--change',
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--change',
      `ENV NODE_VERSION=${nodeVersion}`,
      '--change',
      'CMD ["node"]',
      tarball,
      ref,
    ]);
    return ref;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
