// What the test suite needs from the machine beyond npm packages. Checked once before anything runs, so a fresh
// machine gets one message naming every missing tool and the command that installs it, not a dozen failures.
// Java, Maven and openssl are needed everywhere (the real Kafka, registry and secured cluster); the Debian tools of
// helpers/tools.ts only under CI=true: elsewhere the checks that use them are skipped, one line each.
import { spawnSync } from 'node:child_process';
import { debianTools, hasTool, type ToolName } from './helpers/tools.ts';

interface Tool {
  readonly what: string;
  readonly present: () => boolean;
  /** Debian package that brings it. */
  readonly debian: string;
}

const runs = (command: string, args: string[]): boolean => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

const tools: readonly Tool[] = [
  {
    what: 'java (17+, runs Kafka and the registry)',
    present: () => runs('java', ['-version']),
    debian: 'openjdk-17-jre-headless',
  },
  {
    what: 'mvn (fetches Kafka and Apicurio from Maven Central, builds the Java interop program)',
    present: () => runs('mvn', ['-v']),
    debian: 'maven',
  },
  {
    what: 'openssl (certificates of the secured test cluster)',
    present: () => runs('openssl', ['version']),
    debian: 'openssl',
  },
  ...(process.env.CI === 'true'
    ? (Object.keys(debianTools) as ToolName[]).map((name) => ({
        what: `${name} (CI runs every cross-check)`,
        present: () => hasTool(name),
        debian: debianTools[name].debian,
      }))
    : []),
];

/** Throws one error naming every missing tool, or returns when all are there. */
export function assertTestTools(): void {
  const missing = tools.filter((tool) => !tool.present());
  if (missing.length === 0) return;
  throw new Error(
    [
      'the tests need tools this machine lacks:',
      ...missing.map((tool) => `  - ${tool.what}`),
      `install them with: apt-get update && apt-get install -y ${[...new Set(missing.map((tool) => tool.debian))].join(' ')}`,
      '(bash .ci/run installs them itself)',
    ].join('\n'),
  );
}
