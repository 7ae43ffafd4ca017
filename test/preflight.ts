// What the test suite needs from the machine beyond npm packages. Checked once before anything runs, so a fresh
// machine gets one message naming every missing tool and the command that installs it, not a dozen failures.
import { spawnSync } from 'node:child_process';

interface Tool {
  readonly what: string;
  readonly present: () => boolean;
  /** Debian package that brings it. */
  readonly debian: string;
}

const runs = (command: string, args: string[]): boolean => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

const tools: readonly Tool[] = [
  { what: 'java (17+, runs Kafka and the registry)', present: () => runs('java', ['-version']), debian: 'openjdk-17-jre-headless' },
  { what: 'mvn (fetches Kafka and Apicurio from Maven Central, builds the Java interop program)', present: () => runs('mvn', ['-v']), debian: 'maven' },
  { what: 'kcat (independent Kafka client for cross-checks)', present: () => runs('kcat', ['-V']), debian: 'kcat' },
  { what: 'promtool and prometheus (alert rules, monitoring tests)', present: () => runs('promtool', ['--version']), debian: 'prometheus' },
  { what: 'docker-compose (validates infra/docker-compose.yml)', present: () => runs('docker-compose', ['version']) || runs('docker', ['compose', 'version']), debian: 'docker-compose' },
  { what: 'openssl (certificates of the secured test cluster)', present: () => runs('openssl', ['version']), debian: 'openssl' },
  { what: 'python3 with avro (independent Avro decoder)', present: () => runs('/usr/bin/python3', ['-c', 'import avro.io']), debian: 'python3-avro' },
];

/** Throws one error naming every missing tool, or returns when all are there. */
export function assertTestTools(): void {
  const missing = tools.filter((tool) => !tool.present());
  if (missing.length === 0) return;
  throw new Error([
    'the tests need tools this machine lacks:',
    ...missing.map((tool) => `  - ${tool.what}`),
    `install them with: apt-get update && apt-get install -y ${missing.map((tool) => tool.debian).join(' ')}`,
    '(bash .ci/run installs them itself)',
  ].join('\n'));
}
