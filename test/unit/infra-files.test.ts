// The Docker Compose file and Prometheus config cannot run here (no Docker engine) but must stay valid and
// agree with the local launcher's ports.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { endpoints, loadInfraSettings, projectRoot } from '../../infra/settings.ts';
import { skipWithout } from '../helpers/tools.ts';

const composeFile = join(projectRoot, 'infra', 'docker-compose.yml');

function run(command: string, args: string[]): { ok: boolean; missing: boolean; out: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  const missing = (result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  return { ok: result.status === 0, missing, out: `${result.stdout}${result.stderr}` };
}

test('docker-compose.yml parses without a daemon', { skip: skipWithout('docker-compose') }, () => {
  // `docker compose` (v2 plugin) where present, else the standalone docker-compose (Debian package).
  const v2 = run('docker', ['compose', '-f', composeFile, 'config', '-q']);
  const result = v2.ok ? v2 : run('docker-compose', ['-f', composeFile, 'config', '-q']);
  assert.ok(
    !result.missing,
    'neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose)',
  );
  assert.ok(result.ok, result.out);
});

test('docker-compose.yml uses the launcher ports', () => {
  const compose = readFileSync(composeFile, 'utf8');
  const defaults = loadInfraSettings({});
  const where = endpoints(defaults);
  assert.match(compose, new RegExp(`"127\\.0\\.0\\.1:${String(defaults.kafkaPort)}:9092"`));
  assert.match(compose, new RegExp(`PLAINTEXT://${where.kafkaBrokers[0] ?? ''}`));
  assert.match(compose, new RegExp(`"127\\.0\\.0\\.1:${String(defaults.registryPort)}:8080"`));
  assert.match(compose, /KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0"/);
  assert.match(compose, /"compatibility":"BACKWARD"/);
});

test('prometheus.yml passes promtool', { skip: skipWithout('promtool') }, () => {
  const result = run('promtool', ['check', 'config', join(projectRoot, 'infra', 'prometheus', 'prometheus.yml')]);
  assert.ok(!result.missing, 'promtool is not installed (apt-get install prometheus)');
  assert.ok(result.ok, result.out);
});

test(
  'alert rules pass promtool check and their unit tests (stuck consumer, lag, not ready, poison, instance down)',
  { skip: skipWithout('promtool') },
  () => {
    const dir = join(projectRoot, 'infra', 'prometheus');
    const checked = run('promtool', ['check', 'rules', join(dir, 'alerts.yml')]);
    assert.ok(!checked.missing, 'promtool is not installed (apt-get install prometheus)');
    assert.ok(checked.ok, checked.out);
    const tested = spawnSync('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: dir, encoding: 'utf8' });
    assert.equal(tested.status, 0, `${tested.stdout}${tested.stderr}`);
  },
);
