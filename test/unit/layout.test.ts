// The design kept visible: services/lib's import graph has no cycles, no folder imports a layer above its own, no
// file but the transport adapter knows the Kafka client library, and no file grows past 450 lines.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../infra/settings.ts';

const lib = join(projectRoot, 'services', 'lib');

/** Layers from the bottom up; a folder may import its own layer and those below. `.` is the root's modules
 *  (errors, logger, registry, ...) except index.ts, the public entry point above everything. */
const layers: readonly string[][] = [
  ['.'],
  ['codec', 'sources'],
  ['transport'],
  ['transport/platformatic', 'kafka', 'settings'],
  ['store'],
  ['core'],
  ['snapshot', 'producer', 'schemas', 'input', 'cdc'],
  ['history', 'watch'],
  ['view'],
  ['testing'],
];
const layerOf = (folder: string): number => layers.findIndex((names) => names.includes(folder));

const files = (readdirSync(lib, { recursive: true }) as string[])
  .filter((file) => file.endsWith('.ts'))
  .map((file) => normalize(file));
const importsOf = (file: string): string[] =>
  [...readFileSync(join(lib, file), 'utf8').matchAll(/^(?:import|export)\b[^;]*?['"](\.{1,2}\/[^'"]+)['"]/gm)].map(
    (m) => normalize(join(dirname(file), m[1] ?? '')),
  );
const graph = new Map(files.map((file) => [file, importsOf(file)]));

test('services/lib: no import cycles', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
      return;
    }
    state.set(file, 'open');
    for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of files) visit(file, []);
  assert.deepEqual(cycles, []);
});

test('services/lib: every folder is in a layer, and none imports a layer above its own', () => {
  const folderOf = (file: string): string => dirname(file);
  assert.deepEqual(
    [...new Set(files.map(folderOf))].filter((folder) => layerOf(folder) < 0),
    [],
    'folders without a layer',
  );
  const upward = [...graph]
    .filter(([file]) => file !== 'index.ts')
    .flatMap(([file, targets]) =>
      targets
        .filter((target) => layerOf(folderOf(target)) > layerOf(folderOf(file)))
        .map((target) => `${file} -> ${target}`),
    );
  assert.deepEqual(upward, []);
});

test('services/lib: no file over 450 lines', () => {
  const long = files
    .map((file) => [file, readFileSync(join(lib, file), 'utf8').split('\n').length - 1] as const)
    .filter(([, lines]) => lines > 450);
  assert.deepEqual(long, []);
});

test('services/: only transport/platformatic/ imports the Kafka client library', () => {
  const services = join(projectRoot, 'services');
  const knowing = (readdirSync(services, { recursive: true }) as string[])
    .filter(
      (file) =>
        file.endsWith('.ts') &&
        /@platformatic\/kafka|platformatic\/kafka-library/.test(
          readFileSync(join(services, file), 'utf8')
            .split('\n')
            .filter((line) => /^(import|export)\b/.test(line))
            .join('\n'),
        ),
    )
    .map((file) => relative('lib', normalize(file)));
  assert.deepEqual(
    knowing.filter((file) => !file.startsWith(join('transport', 'platformatic'))),
    [],
  );
});
