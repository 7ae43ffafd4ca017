// Kubernetes manifests and the compose services must match the services' real routes and ports.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { parse, parseAllDocuments } from 'yaml';
import { projectRoot } from '../../infra/settings.ts';
import { ingestServiceSchema, stateServiceSchema } from '../../services/common/config.ts';
import { TokenSet } from '../../services/common/token-set.ts';
import { buildIngestApp } from '../../services/ingest/app.ts';
import { createLogger } from '../../services/lib/logger.ts';
import { buildStateApp } from '../../services/state/app.ts';

const logger = createLogger({ level: 'silent' });
const imageNodeOptions =
  /NODE_OPTIONS="([^"]+)"/.exec(readFileSync(join(projectRoot, 'infra', 'Dockerfile'), 'utf8'))?.[1] ?? 'missing';
const apps = {
  state: buildStateApp({
    views: new Map(),
    changeLogs: new Map(),
    metrics: new Registry(),
    logger,
    minVersionTimeoutMs: 1,
    cursorTtlMs: 1000,
    bodyLimitBytes: 1024,
    readyMaxStaleMs: 1000,
    feedLimits: { maxBufferedBytes: 65_536, maxFeeds: 10 },
    shuttingDown: () => false,
  }),
  ingest: buildIngestApp({
    producers: new Map(),
    tokens: new TokenSet({ token: 'x'.repeat(16) }),
    metrics: new Registry(),
    logger,
    bodyLimitBytes: 1024,
    maxBatchRecords: 1,
    shuttingDown: () => false,
  }),
};
const required = {
  KAFKA_BROKERS: 'k:1',
  SCHEMA_REGISTRY_URL: 'http://r',
  HOTSTATE_DATASETS: 'd',
  HOTSTATE_INGEST_TOKEN: 'x'.repeat(16),
};
const defaultPorts = {
  state: stateServiceSchema.parse(required).HOTSTATE_HTTP_PORT,
  ingest: ingestServiceSchema.parse(required).HOTSTATE_HTTP_PORT,
};

interface Container {
  args: string[];
  ports: Array<{ name: string; containerPort: number }>;
  env: Array<{ name: string; value?: string }>;
  startupProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources?: { limits?: { memory?: string } };
}

test('Kubernetes manifests: probes hit real routes on the service port; scrape annotations match', async () => {
  await Promise.all(Object.values(apps).map((app) => app.ready()));
  const dir = join(projectRoot, 'infra', 'k8s');
  const kinds = new Set<string>();
  for (const file of readdirSync(dir)) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      assert.deepEqual(doc.errors, [], file);
      const manifest = doc.toJS() as {
        kind: string;
        spec: { template?: { metadata: { annotations: Record<string, string> }; spec: { containers: Container[] } } };
      };
      kinds.add(manifest.kind);
      if (manifest.kind !== 'Deployment') continue;
      const template = manifest.spec.template;
      assert.ok(template, file);
      for (const container of template.spec.containers) {
        const service = container.args.join(' ').includes('services/ingest/') ? 'ingest' : 'state';
        const port = container.ports.find((p) => p.name === 'http')?.containerPort;
        assert.equal(port, defaultPorts[service], `${file}: container port is the ${service} service's default port`);
        assert.equal(container.env.find((e) => e.name === 'HOTSTATE_HTTP_PORT')?.value, String(port), file);
        assert.equal(template.metadata.annotations['prometheus.io/port'], String(port), file);
        assert.ok(
          apps[service].hasRoute({ method: 'GET', url: template.metadata.annotations['prometheus.io/path'] ?? '' }),
          `${file}: metrics path`,
        );
        for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
          assert.equal(probe.httpGet.port, 'http', file);
          assert.ok(
            apps[service].hasRoute({ method: 'GET', url: probe.httpGet.path }),
            `${file}: ${probe.httpGet.path} is a route of the ${service} service`,
          );
        }
        assert.equal(container.readinessProbe.httpGet.path, '/readyz');
        const nodeOptions = container.env.find((e) => e.name === 'NODE_OPTIONS')?.value;
        if (service === 'state') {
          // The image's flags, and a heap cap that leaves at least half the memory limit to the entries off the heap.
          assert.ok(
            nodeOptions?.startsWith(imageNodeOptions),
            `${file}: NODE_OPTIONS keeps the image's (${imageNodeOptions})`,
          );
          const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(nodeOptions ?? '')?.[1]);
          const limitGiB = Number(/^(\d+)Gi$/.exec(container.resources?.limits?.memory ?? '')?.[1]);
          assert.ok(
            heapMiB > 0 && heapMiB <= (limitGiB * 1024) / 2,
            `${file}: heap ${String(heapMiB)} MiB within half of ${String(limitGiB)} GiB`,
          );
          // Node refuses some V8 flags in NODE_OPTIONS (e.g. --min-semi-space-size): these must start a process.
          for (const options of [imageNodeOptions, nodeOptions ?? '']) {
            const started = spawnSync(process.execPath, ['-e', '0'], {
              env: { ...process.env, NODE_OPTIONS: options },
              encoding: 'utf8',
            });
            assert.equal(started.status, 0, `NODE_OPTIONS="${options}": ${started.stderr}`);
          }
        }
      }
    }
  }
  assert.deepEqual([...kinds].sort(), ['Deployment', 'PodDisruptionBudget', 'Service']);
});

test("compose services use the services' ports and readiness routes", () => {
  const compose = parse(readFileSync(join(projectRoot, 'infra', 'docker-compose.yml'), 'utf8')) as {
    services: Record<
      string,
      { ports?: string[]; environment?: Record<string, string>; healthcheck?: { test: string[] } }
    >;
  };
  for (const service of ['state', 'ingest'] as const) {
    const definition = compose.services[service];
    assert.ok(definition, service);
    const port = String(defaultPorts[service]);
    assert.deepEqual(definition.ports, [`127.0.0.1:${port}:${port}`]);
    assert.equal(definition.environment?.HOTSTATE_HTTP_PORT, port);
    assert.match(definition.healthcheck?.test.join(' ') ?? '', new RegExp(`127\\.0\\.0\\.1:${port}/readyz`));
  }
});
