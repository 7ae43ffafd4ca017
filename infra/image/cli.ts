// `npm run image -- [--base <image>] [--rebuild-base] [--engine podman|docker]`: builds hotstate's image here.
import { parseArgs } from 'node:util';
import { buildImage } from './build.ts';
import { findEngine } from './engine.ts';

const usage = `usage: npm run image -- [options]

Builds localhost/hotstate:<version> (also tagged :latest) from infra/Dockerfile. Without --base, first builds a
local base equivalent to node:24-slim from Debian's packages and the npm registry (root, debootstrap), once.

options:
  --base <image>        build on this Node 24 image instead (e.g. node:24-slim)
  --rebuild-base        build the local base again even if it exists
  --engine <name>       podman or docker                       [podman if installed, else docker]
  -h, --help            this text

environment: HOTSTATE_DEBIAN_MIRROR, HOTSTATE_DEBIAN_SUITE (default: this machine's apt sources),
HOTSTATE_NPM_REGISTRY (an npm registry for the build; npm's own cafile is passed as the build secret npm-ca)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      base: { type: 'string' },
      'rebuild-base': { type: 'boolean', default: false },
      engine: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  if (values.engine !== undefined && values.engine !== 'podman' && values.engine !== 'docker') {
    throw new Error(`--engine must be podman or docker, not ${values.engine}`);
  }
  const engine = findEngine(values.engine);
  if (!engine)
    throw new Error('no container engine: install podman (apt-get install podman debootstrap) or run a Docker engine');
  const built = await buildImage({
    engine,
    rebuildBase: values['rebuild-base'],
    ...(values.base ? { base: values.base } : {}),
    say: (line) => {
      process.stdout.write(`image: ${line}\n`);
    },
  });
  process.stdout.write(
    `image: built ${built.ref} on ${built.base}: ${(built.sizeBytes / 1e6).toFixed(0)} MB, base ${built.baseSeconds.toFixed(0)} s, image ${built.buildSeconds.toFixed(0)} s\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`image: ${(error as Error).message}\n`);
  process.exit(1);
});
