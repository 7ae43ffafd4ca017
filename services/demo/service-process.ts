// A state or ingest service as a child process on a loopback port, for the demos and the benchmarks: started with
// the settings given on top of this process's environment, and awaited until its /readyz answers 200.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectRoot } from '../../infra/settings.ts';

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly url: string;
}

export function spawnService(
  name: 'state' | 'ingest',
  port: number,
  env: Record<string, string>,
  stdio: StdioOptions = ['ignore', 'inherit', 'inherit'],
): ServiceProcess {
  const child = spawn(
    process.execPath,
    ['--disable-warning=TimeoutNegativeWarning', join(projectRoot, 'services', name, 'main.ts')],
    {
      env: {
        ...process.env,
        HOTSTATE_HTTP_HOST: '127.0.0.1',
        HOTSTATE_HTTP_PORT: String(port),
        HOTSTATE_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio,
    },
  );
  return { child, url: `http://127.0.0.1:${String(port)}` };
}

/** Resolves once every service answers /readyz with 200; throws when one exits first or `timeoutMs` passes. */
export async function whenReady(services: readonly ServiceProcess[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const { child, url } of services) {
    while (
      !(await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${url} did not become ready`);
      await sleep(200);
    }
  }
}
