// Handles on view-worker processes: their status samples, and request/answer over stdin/stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

export interface StatusSample {
  readonly t: number;
  readonly state: string;
  readonly positions: Record<string, number>;
}

interface Message {
  readonly t: number;
  readonly type: 'status' | 'ready' | 'check' | 'digest';
  readonly id?: number;
  readonly [field: string]: unknown;
}

const here = import.meta.dirname;

export class ViewWorker {
  readonly name: string;
  readonly changesFile: string;
  readonly samples: StatusSample[] = [];
  readonly startedAt = Date.now();
  readyAt: number | undefined;
  exited = false;
  private readonly child: ChildProcess;
  private readonly answers = new Map<number, (message: Message) => void>();
  private nextId = 1;
  private readonly readyWaiters: Array<() => void> = [];

  constructor(name: string, dir: string, env: { brokers: string; registry: string; topic: string }) {
    this.name = name;
    this.changesFile = join(dir, `${name}.changes`);
    this.child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', join(here, 'view-worker.ts')], {
      env: {
        ...process.env,
        CHAOS_BROKERS: env.brokers,
        CHAOS_REGISTRY: env.registry,
        CHAOS_TOPIC: env.topic,
        CHAOS_NAME: name,
        CHAOS_CHANGES: this.changesFile,
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.child.on('exit', () => {
      this.exited = true;
      for (const answer of this.answers.values())
        answer({ t: Date.now(), type: 'check', ok: false, error: 'worker exited' });
      this.answers.clear();
    });
    // A request can race the worker's death (chaos kills views): writing to its closed stdin is EPIPE, and the exit
    // handler above already answers what was pending.
    this.child.stdin?.on('error', () => undefined);
    if (!this.child.stdout) throw new Error('worker has no stdout');
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as Message;
      if (message.type === 'status') this.samples.push(message as unknown as StatusSample);
      else if (message.type === 'ready') {
        this.readyAt = message.t;
        for (const resolve of this.readyWaiters.splice(0)) resolve();
      } else if (message.id !== undefined) {
        this.answers.get(message.id)?.(message);
        this.answers.delete(message.id);
      }
    });
  }

  get ready(): boolean {
    return this.readyAt !== undefined && !this.exited;
  }

  whenReady(timeoutMs: number): Promise<void> {
    if (this.readyAt !== undefined) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.name} not ready within ${String(timeoutMs)} ms`));
      }, timeoutMs);
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  request(command: { type: 'check'; token: string; key: string } | { type: 'digest' }): Promise<Message> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      if (this.exited) {
        resolve({ t: Date.now(), type: command.type, ok: false, error: 'worker exited' });
        return;
      }
      this.answers.set(id, resolve);
      this.child.stdin?.write(`${JSON.stringify({ id, ...command })}\n`);
    });
  }

  /** kill -9, as a crash. */
  kill(): Promise<void> {
    return this.stop('SIGKILL');
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => {
        resolve();
      });
      this.child.kill(signal);
    });
  }
}
