// The container engine that builds and runs hotstate's image: podman (root, no daemon) or a Docker engine.
// Both take the same flags for what we use; the ulimits are what podman in a sandboxed root needs to build
// and run (the default open-file limit inherited there is too small for npm and for Kafka clients).
import { spawn, spawnSync } from 'node:child_process';

export type EngineName = 'podman' | 'docker';

export interface Engine {
  readonly name: EngineName;
  /** Flags for `build` and `run`. */
  readonly resourceFlags: readonly string[];
}

const podmanFlags = ['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=4096:4096'];

function answers(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 30_000 });
  return result.status === 0;
}

/** podman when installed, else a Docker client whose engine answers; `undefined` when neither can build. */
export function findEngine(preferred?: EngineName): Engine | undefined {
  const candidates: EngineName[] = preferred ? [preferred] : ['podman', 'docker'];
  for (const name of candidates) {
    if (name === 'podman' && answers('podman', ['--version'])) return { name, resourceFlags: podmanFlags };
    if (name === 'docker' && answers('docker', ['info'])) return { name, resourceFlags: [] };
  }
  return undefined;
}

export interface RunOptions {
  /** Bytes written to the command's standard input. */
  readonly input?: NodeJS.ReadableStream;
  /** Each output line, as it comes (progress for people; tests pass nothing). */
  readonly onLine?: (line: string) => void;
}

/** Runs a command to completion; a failure names the command and shows the end of its output. */
export async function run(command: string, args: string[], options: RunOptions = {}): Promise<string> {
  const child = spawn(command, args, { stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  if (options.input && child.stdin) options.input.pipe(child.stdin);
  const lines: string[] = [];
  let stdout = '';
  const collect = (chunk: Buffer, isStdout: boolean): void => {
    const text = chunk.toString('utf8');
    if (isStdout) stdout += text;
    for (const line of text.split('\n').filter(Boolean)) {
      lines.push(line);
      if (lines.length > 200) lines.shift();
      options.onLine?.(line);
    }
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    collect(chunk, true);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    collect(chunk, false);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  }).catch((error: unknown) => {
    const e = error as NodeJS.ErrnoException;
    throw new Error(
      e.code === 'ENOENT' ? `${command} is not installed (not on PATH)` : `${command} could not start: ${e.message}`,
      { cause: error },
    );
  });
  if (code !== 0) {
    throw new Error(
      `${command} ${args.slice(0, 2).join(' ')} failed (exit ${String(code)}):\n${lines.slice(-30).join('\n')}`,
    );
  }
  return stdout;
}

export async function imageExists(engine: Engine, ref: string): Promise<boolean> {
  try {
    await run(engine.name, ['image', 'inspect', '--format', '{{.Id}}', ref]);
    return true;
  } catch {
    return false;
  }
}
