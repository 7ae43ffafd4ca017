// The image users deploy, built here (npm run image: local Node base from Debian's packages and the npm registry)
// and run as containers against the local broker and registry: what the manifests and the compose file use must
// be what the built image provides, and the services must behave in it as they do as processes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { buildImage, inspectImage, type BuiltImage } from '../../infra/image/build.ts';
import { findEngine, run } from '../../infra/image/engine.ts';
import { projectRoot } from '../../infra/settings.ts';
import { registerValueSchema } from '../../services/lib/registry.ts';
import { price, schemaText } from '../helpers/datasets.ts';
import { checkIngestDrains, checkStateDrains } from '../helpers/drain-checks.ts';
import { createTestTopic, testKafka, testRegistry } from '../helpers/infra.ts';
import { serviceEnv, startService, waitReady, type ContainerRun, type RunningService } from '../helpers/services.ts';

const engine = findEngine();
// Without podman or docker the image cannot be built here; CI installs podman, so there it must run.
const skip = engine || process.env.CI === 'true' ? false : 'no container engine (apt-get install podman debootstrap)';
const token = 'container-test-token-0123456789';

interface K8sContainer {
  image: string;
  args: string[];
  ports: Array<{ containerPort: number }>;
  securityContext?: { readOnlyRootFilesystem?: boolean };
  volumeMounts?: Array<{ mountPath: string }>;
}
interface K8sDeployment {
  kind: string;
  spec: {
    template: {
      spec: { securityContext?: { runAsNonRoot?: boolean; runAsUser?: number }; containers: K8sContainer[] };
    };
  };
}
interface ComposeService {
  image?: string;
  command?: string[];
  read_only?: boolean;
  healthcheck?: { test: string[] };
}

function deployments(): K8sDeployment[] {
  return ['state-service.yaml', 'ingest-service.yaml']
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(projectRoot, 'infra', 'k8s', file), 'utf8')).map(
        (doc) => doc.toJS() as K8sDeployment,
      ),
    )
    .filter((manifest) => manifest.kind === 'Deployment');
}

describe('container image', { skip }, () => {
  let built: BuiltImage;
  let container: ContainerRun;

  before(
    async () => {
      if (!engine) throw new Error('CI must have a container engine: .ci/run installs podman and debootstrap');
      built = await buildImage({ engine });
      container = { engine, image: built.ref };
    },
    { timeout: 10 * 60_000 },
  );

  test('builds on the local Node base within the 10-minute bar; reports its size', (t) => {
    t.diagnostic(
      `${built.ref} on ${built.base}: ${(built.sizeBytes / 1e6).toFixed(0)} MB; base ${built.baseSeconds.toFixed(1)} s, image ${built.buildSeconds.toFixed(1)} s`,
    );
    assert.ok(built.baseSeconds + built.buildSeconds < 600, 'base + image build under 10 minutes');
    assert.ok(built.sizeBytes < 400e6, `image size ${String(built.sizeBytes)} bytes`);
  });

  test('the manifests and the compose file use exactly what the built image provides', async () => {
    assert.ok(engine);
    const config = await inspectImage(engine, built.ref);
    assert.deepEqual(config.Cmd, ['node', 'services/state/main.ts'], 'default entry point: the state service');
    assert.equal(config.WorkingDir, '/app');
    assert.equal(config.User, '1000:1000', 'numeric non-root user, so runAsNonRoot can be checked');
    assert.ok(config.Env.includes('NODE_ENV=production'));
    assert.ok(config.Env.some((e) => e.startsWith('NODE_OPTIONS=') && e.includes('--max-semi-space-size')));
    assert.ok(
      config.Env.includes('NODE_COMPILE_CACHE=/app/.node-compile-cache'),
      'a compile cache built with the image',
    );
    const exposed = Object.keys(config.ExposedPorts);

    const entryPoints = new Set<string>();
    const mounts = new Set<string>();
    for (const deployment of deployments()) {
      const pod = deployment.spec.template.spec;
      const security = pod.securityContext;
      assert.ok(security, 'pod securityContext');
      assert.equal(security.runAsNonRoot, true);
      assert.equal(`${String(security.runAsUser)}:1000`, config.User, "the manifests run the image's user");
      for (const c of pod.containers) {
        assert.equal(c.image, 'hotstate:latest', 'npm run image tags localhost/hotstate:latest');
        assert.equal(c.args[0], 'node');
        entryPoints.add(c.args[1] ?? '');
        for (const port of c.ports)
          assert.ok(
            exposed.includes(`${String(port.containerPort)}/tcp`),
            `port ${String(port.containerPort)} exposed by the image`,
          );
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true, 'tested below with a read-only root');
        for (const mount of c.volumeMounts ?? []) mounts.add(mount.mountPath);
      }
    }
    const compose = parse(readFileSync(join(projectRoot, 'infra', 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, ComposeService>;
    };
    for (const name of ['state', 'ingest', 'hotstate-init']) {
      const service = compose.services[name];
      assert.ok(service, name);
      assert.equal(service.image, 'hotstate:latest', name);
      for (const word of service.command ?? []) if (/^services\/.+\.ts$/.test(word)) entryPoints.add(word);
      if (service.healthcheck)
        assert.equal(service.healthcheck.test[1], 'node', "health checks use the image's node (no curl in it)");
    }
    const init = compose.services['hotstate-init']?.command?.join(' ') ?? '';
    for (const match of init.matchAll(/node (services\/\S+\.ts)/g)) entryPoints.add(match[1] ?? '');
    assert.deepEqual([...entryPoints].sort(), [
      'services/cli/main.ts',
      'services/ingest/main.ts',
      'services/state/main.ts',
    ]);
    assert.deepEqual([...mounts], ['/var/lib/hotstate/snapshots']);

    // Every entry point loads in the image with production dependencies only (a dev-only import would fail here),
    // as the image's user, with sh (compose's init step) and node on PATH.
    const check = [
      'set -e',
      'test "$(id -u)" = 1000',
      'command -v sh node >/dev/null',
      // Mount points (the snapshot volume) exist and belong to the service's user, so volumes made from them are writable.
      ...[...mounts].map((path) => `test "$(stat -c %u ${path})" = 1000`),
      ...[...entryPoints].map((file) => `test -f ${file}`),
      'node services/cli/main.ts --help >/dev/null',
      // The services' modules come compiled from the image's cache (read-only here, as in the manifests).
      `NODE_DEBUG_NATIVE=COMPILE_CACHE node --input-type=module -e "await import('./services/lib/index.ts')" 2>&1 | grep -q 'platformatic/kafka/dist/index.js was accepted'`,
      `node --input-type=module -e "${[...entryPoints]
        .filter((f) => !f.includes('cli'))
        .map((f) => `await import('./${f.replace('main.ts', 'app.ts')}');`)
        .join('')}"`,
    ].join('\n');
    await run(engine.name, ['run', '--rm', ...engine.resourceFlags, '--read-only', built.ref, 'sh', '-c', check]);
  });

  test('state and ingest containers: ready, read-your-write with minVersion, non-root, SIGTERM under traffic drains, exit 0', async (t) => {
    const topic = await createTestTopic(t, testKafka(t), { partitions: 3 });
    await registerValueSchema(testRegistry(), topic, schemaText('instrument-prices', 2));
    const started = performance.now();
    const readyMs = async (service: RunningService): Promise<number> => {
      await waitReady(service);
      return performance.now() - started;
    };
    const [ingest, state] = await Promise.all([
      startService(t, 'ingest', serviceEnv([topic], { HOTSTATE_INGEST_TOKEN: token }), container),
      startService(t, 'state', serviceEnv([topic]), container),
    ]);
    const [ingestReady, stateReady] = await Promise.all([readyMs(ingest), readyMs(state)]);
    t.diagnostic(
      `start to ready (container start included): state ${stateReady.toFixed(0)} ms, ingest ${ingestReady.toFixed(0)} ms`,
    );

    for (const service of [ingest, state]) {
      const status = await run(container.engine.name, ['exec', service.containerName ?? '', 'cat', '/proc/1/status']);
      assert.match(status, /^Uid:\s+1000\s/m, 'the service process (PID 1) runs as uid 1000');
    }
    const put = await fetch(`${ingest.url}/v1/datasets/${topic}/records/ACME`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(price('ACME', 99.5)),
    });
    assert.equal(put.status, 200, await put.clone().text());
    const write = (await put.json()) as { token: string; partition: number; offset: number };
    const read = await fetch(`${state.url}/v1/datasets/${topic}/keys/ACME?minVersion=${write.token}`);
    assert.equal(read.status, 200);
    const body = (await read.json()) as { value: unknown; partition: number; offset: number };
    assert.deepEqual([body.value, body.partition, body.offset], [price('ACME', 99.5), write.partition, write.offset]);

    const stateShutdown = await checkStateDrains(t, { ingest, state }, topic, token);
    const ingestShutdown = await checkIngestDrains(t, ingest, topic, token);
    t.diagnostic(
      `SIGTERM to exit 0: state ${String(stateShutdown)} ms, ingest ${String(ingestShutdown)} ms (shutdown timeout 10000 ms)`,
    );
    assert.ok(ingestShutdown < 10_000, 'ingest shutdown within HOTSTATE_SHUTDOWN_TIMEOUT_MS');
  });
});
