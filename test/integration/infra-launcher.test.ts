// The launcher as a user runs it: real `infra` commands as processes, on their own folder and ports, so they do
// not touch the infrastructure the other tests use.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { strayPids } from '../../infra/launcher.ts';
import { portInUse } from '../../infra/processes.ts';
import { projectRoot } from '../../infra/settings.ts';
import { createKafka, withAdmin } from '../../services/lib/kafka/client.ts';
import { describeTopicConfigs, ensureDatasetTopic } from '../../services/lib/kafka/topics.ts';

function infra(dir: string, env: Record<string, string>, ...args: string[]): { code: number | null; out: string; seconds: number } {
  const began = performance.now();
  const result = spawnSync(process.execPath, ['--disable-warning=TimeoutNegativeWarning', join(projectRoot, 'infra', 'cli.ts'), ...args], {
    env: { ...process.env, HOTSTATE_INFRA_DIR: dir, ...env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}`, seconds: (performance.now() - began) / 1000 };
}

function cluster(t: { after: (fn: () => void) => void }, kafkaPort: number, registryPort: number): { dir: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'hotstate-infra-'));
  const env = { HOTSTATE_KAFKA_PORT: String(kafkaPort), HOTSTATE_REGISTRY_PORT: String(registryPort) };
  t.after(() => {
    infra(dir, env, 'down');
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, env };
}

describe('infra launcher', () => {
  test('up is idempotent, status reports, down leaves no process of ours', async (t) => {
    const { dir, env } = cluster(t, 29092, 28081);
    const first = infra(dir, env, 'up');
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /ready in/);
    const second = infra(dir, env, 'up');
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /already running/);
    const status = infra(dir, env, 'status');
    assert.equal(status.code, 0, status.out);
    assert.match(status.out, /kafka-1\s+ready\s+127\.0\.0\.1:29092/);
    assert.match(status.out, /schema-registry\s+ready\s+http:\/\/127\.0\.0\.1:28081\/apis\/ccompat\/v7/);
    assert.equal(strayPids(dir).length, 2, 'two processes carry our marker');

    const down = infra(dir, env, 'down');
    assert.equal(down.code, 0, down.out);
    assert.match(down.out, /stopped kafka-1, schema-registry/);
    assert.deepEqual(strayPids(dir), []);
    assert.equal(await portInUse(29092), false);
    assert.equal(await portInUse(28081), false);
    assert.equal(infra(dir, env, 'status').code, 3);
    t.diagnostic(`start with cached downloads ${first.seconds.toFixed(1)} s, second up ${second.seconds.toFixed(1)} s`);
  });

  test('a port held by a foreign process is named in a clear error', async (t) => {
    const { dir, env } = cluster(t, 29192, 28181);
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(29192, '127.0.0.1', resolve));
    t.after(() => squatter.close());
    const result = infra(dir, env, 'up');
    assert.equal(result.code, 1);
    assert.match(result.out, /port 29192 on 127\.0\.0\.1 is used by a process this launcher did not start/);
    assert.deepEqual(strayPids(dir), []);
  });

  test('--prometheus: Prometheus with the compose configuration and local targets, stopped by down', async (t) => {
    const { dir, env } = cluster(t, 29592, 28781);
    const withPrometheus = { ...env, HOTSTATE_PROMETHEUS_PORT: '29190', HOTSTATE_PROMETHEUS_TARGETS: '127.0.0.1:28990' };
    const up = infra(dir, withPrometheus, 'up', '--prometheus');
    assert.equal(up.code, 0, up.out);
    assert.match(infra(dir, withPrometheus, 'status').out, /prometheus\s+ready\s+http:\/\/127\.0\.0\.1:29190/);
    const targets = (await (await fetch('http://127.0.0.1:29190/api/v1/targets')).json()) as { data: { activeTargets: Array<{ labels: { job: string; instance: string } }> } };
    const byJob = Object.fromEntries(targets.data.activeTargets.map((target) => [target.labels.job, target.labels.instance]));
    assert.deepEqual(byJob, { prometheus: '127.0.0.1:29190', 'schema-registry': '127.0.0.1:28782', hotstate: '127.0.0.1:28990' });
    const rules = (await (await fetch('http://127.0.0.1:29190/api/v1/rules')).json()) as { data: { groups: Array<{ rules: unknown[] }> } };
    assert.equal(rules.data.groups.flatMap((g) => g.rules).length, 6, 'the shipped alert rules are loaded');
    assert.equal(infra(dir, withPrometheus, 'down').code, 0);
    assert.deepEqual(strayPids(dir), []);
    assert.equal(await portInUse(29190), false);
  });

  test('three brokers: replication factor 3, min ISR 2', async (t) => {
    const { dir, env } = cluster(t, 29292, 28281);
    const up = infra(dir, env, 'up', '--brokers', '3');
    assert.equal(up.code, 0, up.out);
    const kafka = createKafka({ brokers: ['127.0.0.1:29292', '127.0.0.1:29294', '127.0.0.1:29296'] });
    const cluster3 = await withAdmin(kafka, (admin) => admin.describeCluster());
    assert.equal(cluster3.brokers.length, 3);
    const configs = await ensureDatasetTopic(kafka, { topic: 'replicated', partitions: 2 });
    assert.equal(configs['min.insync.replicas'], '2');
    const metadata = await withAdmin(kafka, (admin) => admin.fetchTopicMetadata({ topics: ['replicated'] }));
    for (const partition of metadata.topics[0]?.partitions ?? []) assert.equal(partition.replicas.length, 3);
    assert.equal((await describeTopicConfigs(kafka, 'replicated'))['cleanup.policy'], 'compact');
    const down = infra(dir, env, 'down');
    assert.equal(down.code, 0, down.out);
    assert.deepEqual(strayPids(dir), []);
  });
});
