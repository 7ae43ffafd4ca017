// How the benchmarks run a hotstate contender: as the state service's image runs (infra/Dockerfile), with its
// NODE_OPTIONS flags and a module compile cache that already holds the service's modules (the image builds one).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../infra/settings.ts';

/** The image's NODE_OPTIONS and the state manifest's heap cap (10M keys fit: their entries live off the heap); --expose-gc only to measure memory after the timing. */
export const serviceNodeFlags = [
  '--disable-warning=TimeoutNegativeWarning',
  '--max-semi-space-size=16',
  '--max-old-space-size=1536',
  '--expose-gc',
];

export const serviceNodeEnv: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_COMPILE_CACHE: join(projectRoot, '.cache', 'node-compile-cache'),
};

/** Fills the compile cache with the library's modules, as the image's build does, so no contender runs cold. */
export function warmCompileCache(): void {
  execFileSync(
    process.execPath,
    [
      ...serviceNodeFlags,
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(join(projectRoot, 'services', 'lib', 'index.ts'))})`,
    ],
    { env: serviceNodeEnv, stdio: 'inherit' },
  );
}
