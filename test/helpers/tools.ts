// Debian tools some tests use as extra independent cross-checks or validators (kcat, Apache Avro's Python decoder,
// promtool and Prometheus, docker-compose). `npm install && npm test` must pass on a machine with Node, Java and Maven
// only: there a missing tool skips just what needs it, with one line naming it. Under CI=true (`.ci/run` installs
// them all) nothing is skipped: a missing tool fails the test that needs it.
import { spawnSync } from 'node:child_process';

interface Tool {
  /** Commands that succeed when it is there (any one). */
  readonly probes: ReadonlyArray<readonly [string, readonly string[]]>;
  /** Debian package that brings it. */
  readonly debian: string;
}

export const debianTools = {
  kcat: { probes: [['kcat', ['-V']]], debian: 'kcat' },
  'python3-avro': { probes: [['/usr/bin/python3', ['-c', 'import avro.io']]], debian: 'python3-avro' },
  python3: { probes: [['/usr/bin/python3', ['-c', 'import socket']]], debian: 'python3' },
  promtool: { probes: [['promtool', ['--version']]], debian: 'prometheus' },
  prometheus: { probes: [['prometheus', ['--version']]], debian: 'prometheus' },
  'docker-compose': {
    probes: [
      ['docker', ['compose', 'version']],
      ['docker-compose', ['version']],
    ],
    debian: 'docker-compose',
  },
} as const satisfies Record<string, Tool>;

export type ToolName = keyof typeof debianTools;

const present = new Map<ToolName, boolean>();
export function hasTool(name: ToolName): boolean {
  let found = present.get(name);
  if (found === undefined) {
    found = debianTools[name].probes.some(
      ([command, args]) => spawnSync(command, args, { stdio: 'ignore' }).status === 0,
    );
    present.set(name, found);
  }
  return found;
}

/** For `test(name, { skip: skipWithout('kcat') }, …)`: a one-line reason outside CI when the tool is missing, else false. */
export function skipWithout(...names: ToolName[]): string | false {
  if (process.env.CI === 'true') return false;
  const missing = names.filter((name) => !hasTool(name));
  return missing.length === 0
    ? false
    : `needs ${missing.join(', ')} (apt-get install ${[...new Set(missing.map((name) => debianTools[name].debian))].join(' ')}); skipped outside CI`;
}
