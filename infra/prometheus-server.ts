// Optional local Prometheus (Debian's `prometheus` binary): the compose file's configuration (same rules, same scrape
// settings) with the targets rewritten to the local processes.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { markerFor, startDetached, waitUntilReady, type ProcessRecord } from './processes.ts';
import { projectRoot, registryManagementPort, type InfraSettings } from './settings.ts';

export const prometheusName = 'prometheus';

interface ScrapeConfig {
  job_name: string;
  static_configs: Array<{ targets: string[] }>;
}

/** The compose Prometheus configuration with local targets: services on 127.0.0.1, the registry's management port. */
export function localPrometheusConfig(s: InfraSettings): string {
  const config = parse(readFileSync(join(projectRoot, 'infra', 'prometheus', 'prometheus.yml'), 'utf8')) as {
    scrape_configs: ScrapeConfig[];
  };
  const local: Record<string, string[]> = {
    prometheus: [`127.0.0.1:${String(s.prometheusPort)}`],
    'schema-registry': [`127.0.0.1:${String(registryManagementPort(s))}`],
    hotstate: s.prometheusTargets,
  };
  for (const job of config.scrape_configs)
    job.static_configs = [{ targets: local[job.job_name] ?? job.static_configs.flatMap((c) => c.targets) }];
  return stringify(config);
}

export function startPrometheus(s: InfraSettings): ProcessRecord {
  const home = join(s.dir, prometheusName);
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'prometheus.yml'), localPrometheusConfig(s));
  copyFileSync(join(projectRoot, 'infra', 'prometheus', 'alerts.yml'), join(home, 'alerts.yml'));
  return startDetached(
    s.dir,
    prometheusName,
    'prometheus',
    [
      `--config.file=${join(home, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(home, 'data')}`,
      `--web.listen-address=127.0.0.1:${String(s.prometheusPort)}`,
      `--web.page-title=hotstate ${markerFor(s.dir, prometheusName)}`, // our ownership marker on the command line
    ],
    home,
  );
}

export async function prometheusAnswers(port: number): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${String(port)}/-/ready`, { signal: AbortSignal.timeout(2000) });
  return response.ok;
}

export async function waitForPrometheus(s: InfraSettings, record: ProcessRecord): Promise<void> {
  await waitUntilReady(record, 'Prometheus', s.startTimeoutMs, () => prometheusAnswers(s.prometheusPort));
}
