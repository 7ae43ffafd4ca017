// The launcher as a user runs it: real `infra` commands as processes, on their own folder and ports, so they do
// not touch the infrastructure the other tests use.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { strayPids } from '../../infra/launcher.ts';
import { portInUse } from '../../infra/processes.ts';
import { freePortBlock } from '../helpers/ports.ts';
import { testTransport } from '../helpers/infra.ts';
import { projectRoot } from '../../infra/settings.ts';
import { createKafka, withAdmin } from '../helpers/kafkajs-client.ts';
import { describeTopicConfigs, ensureDatasetTopic } from '../../services/lib/kafka/topics.ts';

function infra(
  dir: string,
  env: Record<string, string>,
  ...args: string[]
): { code: number | null; out: string; seconds: number } {
  const began = performance.now();
  const result = spawnSync(
    process.execPath,
    ['--disable-warning=TimeoutNegativeWarning', join(projectRoot, 'infra', 'cli.ts'), ...args],
    {
      env: { ...process.env, HOTSTATE_INFRA_DIR: dir, ...env },
      encoding: 'utf8',
      timeout: 300_000,
    },
  );
  return { code: result.status, out: `${result.stdout}${result.stderr}`, seconds: (performance.now() - began) / 1000 };
}

interface Cluster {
  readonly dir: string;
  readonly env: Record<string, string>;
  readonly kafkaPort: number;
  readonly registryPort: number;
}

async function cluster(t: { after: (fn: () => void) => void }): Promise<Cluster> {
  const kafkaPort = await freePortBlock(6);
  const registryPort = await freePortBlock(2);
  const dir = mkdtempSync(join(tmpdir(), 'hotstate-infra-'));
  const env = { HOTSTATE_KAFKA_PORT: String(kafkaPort), HOTSTATE_REGISTRY_PORT: String(registryPort) };
  t.after(() => {
    infra(dir, env, 'down');
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, env, kafkaPort, registryPort };
}

describe('infra launcher', () => {
  test('up is idempotent, status reports, down leaves no process of ours', async (t) => {
    const { dir, env, kafkaPort, registryPort } = await cluster(t);
    const first = infra(dir, env, 'up');
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /ready in/);
    const second = infra(dir, env, 'up');
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /already running/);
    const status = infra(dir, env, 'status');
    assert.equal(status.code, 0, status.out);
    assert.match(status.out, new RegExp(`kafka-1\\s+ready\\s+127\\.0\\.0\\.1:${String(kafkaPort)}`));
    assert.match(
      status.out,
      new RegExp(`schema-registry\\s+ready\\s+http://127\\.0\\.0\\.1:${String(registryPort)}/apis/ccompat/v7`),
    );
    assert.equal(strayPids(dir).length, 2, 'two processes carry our marker');

    const down = infra(dir, env, 'down');
    assert.equal(down.code, 0, down.out);
    assert.match(down.out, /stopped kafka-1, schema-registry/);
    assert.deepEqual(strayPids(dir), []);
    assert.equal(await portInUse(kafkaPort), false);
    assert.equal(await portInUse(registryPort), false);
    assert.equal(infra(dir, env, 'status').code, 3);
    t.diagnostic(`start with cached downloads ${first.seconds.toFixed(1)} s, second up ${second.seconds.toFixed(1)} s`);
  });

  test('a port held by a foreign process is named in a clear error', async (t) => {
    const { dir, env, kafkaPort } = await cluster(t);
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(kafkaPort, '127.0.0.1', resolve));
    t.after(() => squatter.close());
    const result = infra(dir, env, 'up');
    assert.equal(result.code, 1);
    assert.match(
      result.out,
      new RegExp(`port ${String(kafkaPort)} on 127\\.0\\.0\\.1 is used by a process this launcher did not start`),
    );
    assert.deepEqual(strayPids(dir), []);
  });

  test('--prometheus: Prometheus with the compose configuration and local targets, stopped by down', async (t) => {
    const { dir, env, registryPort } = await cluster(t);
    const prometheusPort = await freePortBlock(1);
    const target = `127.0.0.1:${String(await freePortBlock(1))}`;
    const prometheus = `127.0.0.1:${String(prometheusPort)}`;
    const withPrometheus = {
      ...env,
      HOTSTATE_PROMETHEUS_PORT: String(prometheusPort),
      HOTSTATE_PROMETHEUS_TARGETS: target,
    };
    const up = infra(dir, withPrometheus, 'up', '--prometheus');
    assert.equal(up.code, 0, up.out);
    assert.match(infra(dir, withPrometheus, 'status').out, new RegExp(`prometheus\\s+ready\\s+http://${prometheus}`));
    const targets = (await (await fetch(`http://${prometheus}/api/v1/targets`)).json()) as {
      data: { activeTargets: Array<{ labels: { job: string; instance: string } }> };
    };
    const byJob = Object.fromEntries(
      targets.data.activeTargets.map((target) => [target.labels.job, target.labels.instance]),
    );
    assert.deepEqual(byJob, {
      prometheus,
      'schema-registry': `127.0.0.1:${String(registryPort + 1)}`,
      hotstate: target,
    });
    const rules = (await (await fetch(`http://${prometheus}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: unknown[] }> };
    };
    const shipped = (
      parse(readFileSync(join(projectRoot, 'infra', 'prometheus', 'alerts.yml'), 'utf8')) as {
        groups: Array<{ rules: unknown[] }>;
      }
    ).groups.flatMap((g) => g.rules);
    assert.equal(
      rules.data.groups.flatMap((g) => g.rules).length,
      shipped.length,
      'the shipped alert rules are loaded',
    );
    assert.equal(infra(dir, withPrometheus, 'down').code, 0);
    assert.deepEqual(strayPids(dir), []);
    assert.equal(await portInUse(prometheusPort), false);
  });

  test('three brokers: replication factor 3, min ISR 2', async (t) => {
    const { dir, env, kafkaPort } = await cluster(t);
    const up = infra(dir, env, 'up', '--brokers', '3');
    assert.equal(up.code, 0, up.out);
    const kafka = createKafka({ brokers: [0, 2, 4].map((i) => `127.0.0.1:${String(kafkaPort + i)}`) });
    const cluster3 = await withAdmin(kafka, (admin) => admin.describeCluster());
    assert.equal(cluster3.brokers.length, 3);
    const transport = testTransport(
      t,
      [0, 2, 4].map((i) => `127.0.0.1:${String(kafkaPort + i)}`),
    );
    const configs = await ensureDatasetTopic(transport, { topic: 'replicated', partitions: 2 });
    assert.equal(configs['min.insync.replicas'], '2');
    const metadata = await withAdmin(kafka, (admin) => admin.fetchTopicMetadata({ topics: ['replicated'] }));
    for (const partition of metadata.topics[0]?.partitions ?? []) assert.equal(partition.replicas.length, 3);
    assert.equal((await describeTopicConfigs(transport, 'replicated'))['cleanup.policy'], 'compact');
    const down = infra(dir, env, 'down');
    assert.equal(down.code, 0, down.out);
    assert.deepEqual(strayPids(dir), []);
  });
});
