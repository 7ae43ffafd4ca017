// Runs the hotstate CLI as a real process, as a user would.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../infra/settings.ts';
import { testInfra } from './infra.ts';

const cli = join(projectRoot, 'services', 'cli', 'main.ts');
const env = (): NodeJS.ProcessEnv => ({ ...process.env, ...testInfra().env });

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI; `extraEnv` replaces connection settings (e.g. the secured cluster's). */
export function hotstate(args: string[], input?: Buffer | string, extraEnv: Record<string, string> = {}): CliResult {
  const result = spawnSync(process.execPath, ['--disable-warning=TimeoutNegativeWarning', cli, ...args], {
    env: { ...env(), ...extraEnv },
    encoding: 'utf8',
    timeout: 120_000,
    ...(input === undefined ? {} : { input }),
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A long-running CLI process (e.g. watch); lines of its stdout and stderr are collected. */
export function hotstateProcess(args: string[]): {
  lines: string[];
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<string>;
  stop: () => Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', cli, ...args], {
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let seen = 0;
  const onData = (chunk: Buffer): void => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      resolve(code);
    }),
  );
  return {
    lines,
    /** Resolves with the first line after the previously matched one that matches. */
    waitFor: async (pattern, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = lines.findIndex((line, i) => i >= seen && pattern.test(line));
        if (index >= 0) {
          seen = index + 1;
          return lines[index] ?? '';
        }
        if (Date.now() > deadline)
          throw new Error(
            `no output line matching ${String(pattern)} within ${String(timeoutMs)} ms; output:\n${lines.join('\n')}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
