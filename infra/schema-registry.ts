// Apicurio Registry, in memory, on loopback, serving the Confluent-compatible API; the global compatibility
// rule is set to BACKWARD through that API once it answers.
import { join } from 'node:path';
import { findJava, javaRuntimes, type JavaRuntime } from './java.ts';
import { markerFor, startDetached, waitUntilReady, type ProcessRecord } from './processes.ts';
import { registryBackendPort, registryJava17Fallback, registryManagementPort, type InfraSettings } from './settings.ts';

export const registryName = 'schema-registry';

/** Apicurio 3.3 and later are compiled for Java 21; earlier 3.x builds run on Java 17. */
export function javaNeededBy(registryVersion: string): number {
  const [major = 0, minor = 0] = registryVersion.split('.').map(Number);
  return major > 3 || (major === 3 && minor >= 3) ? 21 : 17;
}

export interface RegistryRuntime {
  readonly version: string;
  readonly java: JavaRuntime;
  readonly notice?: string;
}

/** Picks the registry version and a Java runtime able to run it. */
export function chooseRegistryRuntime(s: InfraSettings): RegistryRuntime {
  const needed = javaNeededBy(s.registryVersion);
  const java = findJava(needed);
  if (java) return { version: s.registryVersion, java };
  const java17 = findJava(17);
  if (!s.registryVersionPinned && java17) {
    return {
      version: registryJava17Fallback,
      java: java17,
      notice: `Apicurio Registry ${s.registryVersion} needs Java ${needed}+ and only Java ${java17.major} was found; using ${registryJava17Fallback}`,
    };
  }
  const found =
    javaRuntimes()
      .map((r) => `${r.executable} (${r.major})`)
      .join(', ') || 'none';
  throw new Error(
    `Apicurio Registry ${s.registryVersion} needs Java ${needed}+; found: ${found}. Set JAVA_HOME to a newer JDK or HOTSTATE_REGISTRY_VERSION=${registryJava17Fallback}`,
  );
}

export function startRegistry(s: InfraSettings, jar: string, java: string): ProcessRecord {
  const args = [
    `-Xmx${s.registryHeapMb}m`,
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    markerFor(s.dir, registryName),
    '-Dquarkus.http.host=127.0.0.1',
    `-Dquarkus.http.port=${String(registryBackendPort(s))}`,
    // The management interface is fixed at Apicurio's build time; keep it on loopback beside the API port.
    '-Dquarkus.management.host=127.0.0.1',
    `-Dquarkus.management.port=${registryManagementPort(s)}`,
    '-Dquarkus.log.console.json=false',
    '-Dapicurio.storage.kind=sql',
    '-Dapicurio.storage.sql.kind=h2',
    '-jar',
    jar,
  ];
  return startDetached(s.dir, registryName, java, args, join(jar, '..'));
}

async function registryFetch(baseUrl: string, path: string, init?: RequestInit): Promise<Response> {
  return fetch(`${baseUrl}${path}`, { ...init, signal: AbortSignal.timeout(2000) });
}

export async function registryAnswers(baseUrl: string): Promise<boolean> {
  const response = await registryFetch(baseUrl, '/subjects');
  return response.ok;
}

export async function waitForRegistry(s: InfraSettings, record: ProcessRecord, baseUrl: string): Promise<void> {
  await waitUntilReady(record, 'Apicurio Registry', s.startTimeoutMs, () => registryAnswers(baseUrl));
  await ensureGlobalCompatibility(baseUrl, 'BACKWARD');
}

export async function ensureGlobalCompatibility(baseUrl: string, level: string): Promise<void> {
  const put = await registryFetch(baseUrl, '/config', {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: level }),
  });
  const current = (await (await registryFetch(baseUrl, '/config')).json()) as { compatibilityLevel?: string };
  if (!put.ok || current.compatibilityLevel !== level) {
    throw new Error(
      `could not set the registry's global compatibility to ${level} (HTTP ${put.status}, now ${String(current.compatibilityLevel)})`,
    );
  }
}
