// A real Prometheus server (Debian's package) for a test, scraping the given targets every second, with the
// shipped alert rules loaded.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { projectRoot } from '../../infra/settings.ts';

export interface TestPrometheus {
  readonly url: string;
  /** Runs an instant query; returns the result vector. */
  readonly query: (expr: string) => Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
}

export async function startPrometheus(t: TestContext, port: number, targets: string[]): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'hotstate-prometheus-'));
  copyFileSync(join(projectRoot, 'infra', 'prometheus', 'alerts.yml'), join(dir, 'alerts.yml'));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'rule_files: [alerts.yml]',
      'scrape_configs:',
      '  - job_name: hotstate',
      `    static_configs: [{ targets: [${targets.map((target) => `"${target}"`).join(', ')}] }]`,
      '',
    ].join('\n'),
  );
  const child = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${String(port)}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  t.after(async () => {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${String(port)}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const failed = await Promise.race([
      spawnError,
      new Promise<undefined>((resolve) => setTimeout(resolve, 200, undefined)),
    ]);
    if (failed)
      throw new Error(`prometheus could not start (${failed.message}); install it: apt-get install prometheus`);
    if (
      await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`prometheus did not become ready:\n${log.slice(-2000)}`);
  }
  return {
    url,
    query: async (expr) => {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      if (body.status !== 'success') throw new Error(`query failed: ${expr}: ${body.error ?? ''}`);
      return body.data?.result ?? [];
    },
  };
}
