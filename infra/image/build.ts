// Builds hotstate's image with podman or docker, on a given base or on the local Node base (base-image.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../settings.ts';
import { buildLocalBase, debianSource, localBaseRef, pinnedNodeVersion } from './base-image.ts';
import { imageExists, run, type Engine } from './engine.ts';

export interface ImageBuildOptions {
  readonly engine: Engine;
  /** A Node 24 image to build on (e.g. node:24-slim where a registry is reachable); default: the local base. */
  readonly base?: string;
  readonly rebuildBase?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly say?: (line: string) => void;
  readonly onLine?: (line: string) => void;
}

export interface BuiltImage {
  readonly ref: string;
  readonly base: string;
  readonly baseSeconds: number;
  readonly buildSeconds: number;
  readonly sizeBytes: number;
}

export const projectVersion = (): string =>
  (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
export const imageRef = (): string => `localhost/hotstate:${projectVersion()}`;

/**
 * The CA file the build's npm needs to reach the registry as this machine does: npm's own `cafile`, else the CA file
 * Node is told of. Under an npm script (PATH starting with the project's Node 24) npm reads the global npmrc of that
 * Node's prefix, not the machine's, and may answer "null" although the machine sets one (seen in CI: the image's
 * `npm ci` then met a certificate chain it did not trust).
 */
function npmCaFile(env: NodeJS.ProcessEnv): string | undefined {
  let fromNpm: string | undefined;
  try {
    fromNpm = execFileSync('npm', ['config', 'get', 'cafile'], { encoding: 'utf8' }).trim();
  } catch {
    fromNpm = undefined;
  }
  const candidates = [fromNpm, env.npm_config_cafile, env.NODE_EXTRA_CA_CERTS, env.SSL_CERT_FILE];
  return candidates.find(
    (file) => file !== undefined && file !== '' && file !== 'null' && file !== 'undefined' && existsSync(file),
  );
}

export async function buildImage(options: ImageBuildOptions): Promise<BuiltImage> {
  const { engine, env = process.env, say = () => undefined } = options;
  const baseStarted = performance.now();
  let base = options.base;
  if (base === undefined) {
    const source = {
      ...debianSource(),
      ...(env.HOTSTATE_DEBIAN_MIRROR ? { mirror: env.HOTSTATE_DEBIAN_MIRROR } : {}),
      ...(env.HOTSTATE_DEBIAN_SUITE ? { suite: env.HOTSTATE_DEBIAN_SUITE } : {}),
    };
    const nodeVersion = pinnedNodeVersion();
    base = localBaseRef(nodeVersion, source.suite);
    if (options.rebuildBase || !(await imageExists(engine, base))) {
      await buildLocalBase({ engine, nodeVersion, source, say });
    } else {
      say(`base ${base} exists (--rebuild-base builds it again)`);
    }
  }
  const baseSeconds = (performance.now() - baseStarted) / 1000;

  const ref = imageRef();
  const caFile = npmCaFile(env);
  say(`building ${ref} on ${base} with ${engine.name}`);
  const started = performance.now();
  await run(
    engine.name,
    [
      'build',
      ...engine.resourceFlags,
      '--network',
      'host',
      '--build-arg',
      `BASE_IMAGE=${base}`,
      ...(env.HOTSTATE_NPM_REGISTRY ? ['--build-arg', `NPM_REGISTRY=${env.HOTSTATE_NPM_REGISTRY}`] : []),
      ...(caFile ? ['--secret', `id=npm-ca,src=${caFile}`] : []),
      '-f',
      join(projectRoot, 'infra', 'Dockerfile'),
      '-t',
      ref,
      '-t',
      'localhost/hotstate:latest',
      projectRoot,
    ],
    options.onLine ? { onLine: options.onLine } : {},
  );
  const buildSeconds = (performance.now() - started) / 1000;
  const sizeBytes = Number((await run(engine.name, ['image', 'inspect', '--format', '{{.Size}}', ref])).trim());
  return { ref, base, baseSeconds, buildSeconds, sizeBytes };
}

/** What the image declares, as the engine reads it from the built image (not from the Dockerfile text). */
export interface ImageConfig {
  readonly User: string;
  readonly WorkingDir: string;
  readonly Cmd: string[];
  readonly Env: string[];
  readonly ExposedPorts: Record<string, object>;
  readonly StopSignal?: string;
}

export async function inspectImage(engine: Engine, ref: string): Promise<ImageConfig> {
  return JSON.parse(await run(engine.name, ['image', 'inspect', '--format', '{{json .Config}}', ref])) as ImageConfig;
}
