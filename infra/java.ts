// Finds a Java runtime of at least a given major version: JAVA_HOME, `java` on PATH, then the usual JDK folders.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface JavaRuntime {
  readonly executable: string;
  readonly major: number;
}

const jdkParents = ['/usr/lib/jvm', '/usr/local/lib/jvm', '/opt/java', '/Library/Java/JavaVirtualMachines'];

function candidates(env: NodeJS.ProcessEnv): string[] {
  const found: string[] = [];
  if (env.JAVA_HOME) found.push(join(env.JAVA_HOME, 'bin', 'java'));
  found.push('java');
  for (const parent of jdkParents) {
    if (!existsSync(parent)) continue;
    for (const entry of readdirSync(parent).sort()) {
      for (const home of [join(parent, entry), join(parent, entry, 'Contents', 'Home')]) {
        const executable = join(home, 'bin', 'java');
        if (existsSync(executable)) found.push(executable);
      }
    }
  }
  return [...new Set(found)];
}

export function javaMajor(executable: string): number | undefined {
  // `java -version` writes to stderr: `openjdk version "17.0.15" ...`, `"25" ...` or `"1.8.0_392"`.
  const result = spawnSync(executable, ['-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return result.error ? undefined : parseJavaVersion(`${result.stderr}${result.stdout}`);
}

export function parseJavaVersion(text: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(text);
  if (!match?.[1]) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] ? Number(match[2]) : first;
}

let probed: JavaRuntime[] | undefined;

/** Every Java runtime found, each once; `java -version` runs once per candidate per process. */
export function javaRuntimes(env: NodeJS.ProcessEnv = process.env): JavaRuntime[] {
  probed ??= candidates(env).flatMap((executable) => {
    const major = javaMajor(executable);
    return major === undefined ? [] : [{ executable, major }];
  });
  return probed;
}

/** The first runtime (in the order above) whose major version is at least `minMajor`. */
export function findJava(minMajor: number, env: NodeJS.ProcessEnv = process.env): JavaRuntime | undefined {
  return javaRuntimes(env).find((runtime) => runtime.major >= minMajor);
}
