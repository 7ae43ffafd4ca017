// The services as real processes (or containers of the project image), on ports they pick themselves (port 0),
// found from their "listening" log line.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { projectRoot } from '../../infra/settings.ts';
import { testInfra } from './infra.ts';
import type { Engine } from '../../infra/image/engine.ts';

export interface RunningService {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: string[];
  /** Set when the service runs in a container. */
  readonly containerName?: string;
  /** Sends the signal and resolves with the exit code. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

export function serviceEnv(datasets: string[], extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...testInfra().env,
    HOTSTATE_DATASETS: datasets.join(','),
    HOTSTATE_HTTP_HOST: '127.0.0.1',
    HOTSTATE_HTTP_PORT: '0',
    ...extra,
  };
}

/** The service in a container of the project's image instead of a local process (host network, read-only root). */
export interface ContainerRun {
  readonly engine: Engine;
  readonly image: string;
}

let containers = 0;

interface Spawned {
  readonly child: ChildProcess;
  readonly kill: (signal: NodeJS.Signals) => void;
  readonly containerName?: string;
}

function spawnService(name: 'state' | 'ingest', env: Record<string, string>, container?: ContainerRun): Spawned {
  if (!container) {
    const child = spawn(
      process.execPath,
      ['--disable-warning=TimeoutNegativeWarning', join(projectRoot, 'services', name, 'main.ts')],
      {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    return {
      child,
      kill: (signal) => {
        child.kill(signal);
      },
    };
  }
  const containerName = `hotstate-test-${name}-${String(process.pid)}-${String(++containers)}`;
  const { engine, image } = container;
  const child = spawn(
    engine.name,
    [
      // Read-only with no writable /tmp, as the Kubernetes manifests run it (readOnlyRootFilesystem).
      'run',
      '--rm',
      '--name',
      containerName,
      '--network',
      'host',
      '--read-only',
      ...(engine.name === 'podman' ? ['--read-only-tmpfs=false'] : []),
      ...engine.resourceFlags,
      ...Object.entries(env).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
      image,
      'node',
      `services/${name}/main.ts`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // The signal goes to the container's PID 1 through the engine, as an orchestrator sends it.
  const kill = (signal: NodeJS.Signals): void => {
    spawn(engine.name, ['kill', '--signal', signal, containerName], { stdio: 'ignore' });
  };
  return { child, kill, containerName };
}

export function runService(
  name: 'state' | 'ingest',
  env: Record<string, string>,
  container?: ContainerRun,
): Spawned & { output: string[]; exited: Promise<number | null> } {
  const spawned = spawnService(name, env, container);
  const { child } = spawned;
  const output: string[] = [];
  const collect = (chunk: Buffer): void => {
    output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      resolve(code);
    }),
  );
  return { ...spawned, output, exited };
}

export async function startService(
  t: TestContext,
  name: 'state' | 'ingest',
  env: Record<string, string>,
  container?: ContainerRun,
): Promise<RunningService> {
  const { child, output, exited, kill, containerName } = runService(name, env, container);
  t.after(async () => {
    if (child.exitCode === null) kill('SIGKILL');
    await exited;
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const line = output.find((l) => l.includes('service listening'));
    if (line) {
      const { address } = JSON.parse(line) as { address: string };
      return {
        url: address,
        child,
        output,
        ...(containerName ? { containerName } : {}),
        stop: async (signal = 'SIGTERM') => {
          kill(signal);
          return exited;
        },
      };
    }
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`${name} service did not start:\n${output.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function waitReady(service: RunningService, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await fetch(`${service.url}/readyz`)).status !== 200) {
    if (Date.now() > deadline) throw new Error(`not ready: ${await (await fetch(`${service.url}/readyz`)).text()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
