// hotstate as users get it: `npm pack`, installed into a fresh project, imported from plain JavaScript (ESM) and
// from TypeScript (type-checked, then run by Node), running a producer and a view against the real broker; the
// README's quick start as written; and the refusal of a Node.js older than 22.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../infra/settings.ts';
import { testInfra, uniqueTopicName, deleteSubject } from '../helpers/infra.ts';
import { valueSubject } from '../../services/lib/registry.ts';

const run = (command: string, args: string[], cwd: string, env: Record<string, string> = {}): string =>
  execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });

// The same program in both languages: ensure a topic, register a schema, write, read it back through a view, and
// through a second view restored from the first one's snapshot.
const program = (typed: boolean): string => `
import { mkdtempSync } from 'node:fs';
import { preloadSnapshot } from 'hotstate/snapshot-preload';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProducer, createView, ensureDatasetTopic, withTransport, isHotstateError, snapshotFileName${typed ? ', type KafkaConnection, type RegistryTarget, type WriteResult' : ''} } from 'hotstate';
const [connection = '', topic = ''] = process.argv.slice(2);
const { kafka, registry: registryUrl } = JSON.parse(connection)${typed ? ' as { kafka: KafkaConnection; registry: RegistryTarget }' : ''};
await withTransport(kafka, (transport) => ensureDatasetTopic(transport, { topic }));
const schema = { type: 'record', name: 'Pkg', fields: [{ name: 'n', type: 'int' }] };
const producer = await createProducer({ kafka, registryUrl, topic, schema, registerSchema: true });
const write${typed ? ': WriteResult' : ''} = await producer.upsert('k', { n: 42 });
const view = await createView({ kafka, registryUrl, topic });
await view.ready;
await view.waitFor(write.token, 10_000);
const item = view.get${typed ? '<{ n: number }>' : ''}('k');
// A snapshot, and a second view started from it (its file is loaded on a worker thread of the package).
const dir = mkdtempSync(join(tmpdir(), 'hotstate-package-snapshots-'));
await view.writeSnapshot(join(dir, snapshotFileName(topic, Date.now())));
await view.close();
preloadSnapshot(dir, topic); // what a program does first, before loading the rest of itself
const restored = await createView({ kafka, registryUrl, topic, snapshot: { dir } });
await restored.ready;
const again = restored.get${typed ? '<{ n: number }>' : ''}('k');
console.log(JSON.stringify({ n: item?.value.n, offset: item?.offset, isError: isHotstateError(new Error('x')), restore: restored.status().snapshot.restore?.outcome, restoredN: again?.value.n }));
await restored.close();
await producer.close();
`;

test('npm pack → fresh project → import from .mjs and .ts, run a producer and a view', { timeout: 600_000 }, (t) => {
  const work = mkdtempSync(join(tmpdir(), 'hotstate-package-'));
  t.after(() => {
    rmSync(work, { recursive: true, force: true });
  });
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], projectRoot)) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  const tarball = packed[0];
  assert.ok(tarball, 'npm pack made a tarball');
  const paths = tarball.files.map((f) => f.path);
  assert.ok(
    paths.includes('dist/services/lib/index.js') && paths.includes('dist/services/lib/index.d.ts'),
    'JavaScript and declarations are packed',
  );
  assert.ok(!paths.some((p) => p.endsWith('.ts') && !p.endsWith('.d.ts')), 'no TypeScript sources in the package');

  const app = join(work, 'app');
  run('mkdir', ['-p', app], work);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, tarball.filename)], app);
  writeFileSync(join(app, 'check.mjs'), program(false));
  writeFileSync(join(app, 'check.ts'), program(true));
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2024',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
        typeRoots: [join(projectRoot, 'node_modules', '@types')],
      },
      files: ['check.ts'],
    }),
  );
  run(join(projectRoot, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], app);

  const { kafka, registry } = testInfra();
  for (const file of ['check.mjs', 'check.ts']) {
    const topic = uniqueTopicName(t);
    t.after(() => deleteSubject(valueSubject(topic)));
    const out = run(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', file, JSON.stringify({ kafka, registry }), topic],
      app,
    );
    const result = out.split('\n').find((line) => line.startsWith('{"n"')) ?? '{}'; // other lines are the library's logs
    assert.deepEqual(
      JSON.parse(result),
      { n: 42, offset: 0, isError: false, restore: 'used', restoredN: 42 },
      `${file}: ${out}`,
    );
  }
  const cliMain = join(app, 'node_modules', 'hotstate', 'dist', 'services', 'cli', 'main.js');
  const help = run(process.execPath, [cliMain, '--help'], app);
  assert.match(help, /Usage: hotstate/);

  // 'hotstate/testing': a view over an in-memory topic, no broker, no registry (docs/library.md shows this program).
  const testing = /\*\*Testing without a broker\*\*[^]*?```js\n([^]*?)```/.exec(
    readFileSync(join(projectRoot, 'docs', 'library.md'), 'utf8'),
  )?.[1];
  assert.ok(testing, 'docs/library.md shows a hotstate/testing program');
  writeFileSync(join(app, 'memory.mjs'), testing);
  assert.match(run(process.execPath, ['memory.mjs'], app), /^1\.5 2$/m);

  // The README's quick start, unmodified, against the test cluster.
  const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
  const quickStart = /\*\*Quick start\*\*[^]*?```js\n([^]*?)```/.exec(readme)?.[1];
  assert.ok(quickStart, 'the README has a quick start');
  writeFileSync(join(app, 'quick-start.mjs'), quickStart);
  if (testInfra().secure) {
    t.diagnostic('the quick start connects in plaintext as written: run on the plaintext cluster only');
  } else {
    const topic = uniqueTopicName(t);
    t.after(() => deleteSubject(valueSubject(topic)));
    const quick = run(process.execPath, ['quick-start.mjs'], app, {
      KAFKA_BROKERS: testInfra().brokers.join(','),
      SCHEMA_REGISTRY_URL: testInfra().registryUrl,
      TOPIC: topic,
    });
    assert.match(quick, /^Price \{ price: 12\.5 \}$/m, quick);
  }

  // An older Node: one line naming the version needed, from the library and from the CLI.
  const oldNode = olderNode();
  if (oldNode === undefined) {
    if (process.env.CI === 'true')
      assert.fail('CI must have a Node.js older than 22 at /usr/bin/node to check the refusal');
    t.diagnostic('skipped the Node < 22 refusal: no older Node.js at /usr/bin/node');
    return;
  }
  const library = spawnSync(
    oldNode,
    [
      '--input-type=module',
      '-e',
      "import('hotstate').catch((e) => { console.log(e.code + ': ' + e.message); process.exit(3); })",
    ],
    { cwd: app, encoding: 'utf8' },
  );
  assert.equal(library.status, 3, library.stderr);
  assert.match(
    library.stdout,
    /^HOTSTATE_ERR_CONFIG_INVALID: hotstate needs Node\.js 22 or newer; this is Node\.js \d+\./,
  );
  const cli = spawnSync(oldNode, [cliMain, '--help'], { cwd: app, encoding: 'utf8' });
  assert.equal(cli.status, 2);
  assert.equal(cli.stderr.trim().split('\n').length, 1, cli.stderr);
  assert.match(cli.stderr, /^hotstate: HOTSTATE_ERR_CONFIG_INVALID: hotstate needs Node\.js 22 or newer/);
});

/** The machine's own Node.js when it is older than 22 (Debian's on this kind of machine), else undefined. */
function olderNode(): string | undefined {
  const probe = spawnSync('/usr/bin/node', ['--version'], { encoding: 'utf8' });
  if (probe.error) return undefined;
  const version = probe.stdout.trim();
  return version && Number(version.replace(/^v/, '').split('.')[0]) < 22 ? '/usr/bin/node' : undefined;
}
