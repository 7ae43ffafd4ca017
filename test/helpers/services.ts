// The services as real processes, on ports they pick themselves (port 0), found from their "listening" log line.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { projectRoot } from '../../infra/settings.ts';
import { testInfra } from './infra.ts';

export interface RunningService {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: string[];
  /** Sends the signal and resolves with the exit code. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

export function serviceEnv(datasets: string[], extra: Record<string, string> = {}): Record<string, string> {
  return {
    KAFKA_BROKERS: testInfra().brokers.join(','), SCHEMA_REGISTRY_URL: testInfra().registryUrl,
    HOTSTATE_DATASETS: datasets.join(','), HOTSTATE_HTTP_HOST: '127.0.0.1', HOTSTATE_HTTP_PORT: '0', ...extra,
  };
}

export function runService(name: 'state' | 'ingest', env: Record<string, string>): { child: ChildProcess; output: string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', join(projectRoot, 'services', name, 'main.ts')], {
    env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const collect = (chunk: Buffer): void => { output.push(...chunk.toString('utf8').split('\n').filter(Boolean)); };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code); }));
  return { child, output, exited };
}

export async function startService(t: TestContext, name: 'state' | 'ingest', env: Record<string, string>): Promise<RunningService> {
  const { child, output, exited } = runService(name, env);
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const line = output.find((l) => l.includes('service listening'));
    if (line) {
      const { address } = JSON.parse(line) as { address: string };
      return { url: address, child, output, stop: async (signal = 'SIGTERM') => { child.kill(signal); return exited; } };
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} service did not start:\n${output.join('\n')}`);
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
