// The local schema catalog: `<dir>/<topic>/v<N>.avsc`. Checks each version against the previous one locally
// (BACKWARD: the new schema must read data written with the old) and the newest against the registry's rules,
// and registers versions in order.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Type } from 'avsc';
import { parseAvroSchema } from '../codec/confluent-avro.ts';
import { HotstateError } from '../errors.ts';
import {
  checkCompatibility,
  registerValueSchema,
  registryBaseUrl,
  valueSubject,
  type RegistryTarget,
} from '../registry.ts';

export interface SchemaVersionFile {
  readonly version: number;
  readonly file: string;
  readonly text: string;
  readonly type: Type;
}

export interface Dataset {
  readonly topic: string;
  readonly versions: readonly SchemaVersionFile[];
}

export function loadCatalog(dir: string): Dataset[] {
  const problems: string[] = [];
  const datasets: Dataset[] = [];
  for (const topic of readdirSync(dir).sort()) {
    const folder = join(dir, topic);
    if (!statSync(folder).isDirectory()) continue;
    const versions: SchemaVersionFile[] = [];
    for (const name of readdirSync(folder)) {
      const match = /^v(\d+)\.avsc$/.exec(name);
      if (!match) continue;
      const file = join(folder, name);
      const text = readFileSync(file, 'utf8');
      try {
        versions.push({ version: Number(match[1]), file, text, type: parseAvroSchema(text) });
      } catch (error) {
        problems.push(`${file}: not a valid Avro schema: ${(error as Error).message}`);
      }
    }
    if (versions.length > 0) datasets.push({ topic, versions: versions.sort((a, b) => a.version - b.version) });
  }
  if (problems.length > 0) throw new HotstateError('HOTSTATE_ERR_INPUT_MALFORMED', problems.join('\n'));
  if (datasets.length === 0)
    throw new HotstateError('HOTSTATE_ERR_INPUT_MALFORMED', `no <topic>/v<N>.avsc schema files under ${dir}`);
  return datasets;
}

/** Why `reader` cannot read data written with `writer`, or undefined when it can (avsc schema resolution). */
export function backwardIncompatibility(reader: Type, writer: Type): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export interface CheckFinding {
  readonly subject: string;
  readonly file: string;
  readonly ok: boolean;
  readonly detail: string;
}

export async function checkCatalog(
  datasets: readonly Dataset[],
  registryUrl: RegistryTarget,
  subjectPrefix = '',
): Promise<CheckFinding[]> {
  const url = registryUrl;
  registryBaseUrl(url);
  const findings: CheckFinding[] = [];
  for (const dataset of datasets) {
    const subject = valueSubject(`${subjectPrefix}${dataset.topic}`);
    for (let i = 1; i < dataset.versions.length; i++) {
      const [previous, current] = [dataset.versions[i - 1], dataset.versions[i]];
      if (!previous || !current) continue;
      const why = backwardIncompatibility(current.type, previous.type);
      findings.push({
        subject,
        file: current.file,
        ok: why === undefined,
        detail: why
          ? `cannot read v${String(previous.version)} data: ${why}`
          : `reads v${String(previous.version)} data`,
      });
    }
    const newest = dataset.versions.at(-1);
    if (!newest) continue;
    const verdict = await checkCompatibility(url, subject, newest.text);
    const detail = verdict.newSubject
      ? 'subject not registered yet'
      : verdict.compatible
        ? 'compatible with the registry'
        : `the registry rejects it as incompatible${verdict.messages.length > 0 ? `: ${verdict.messages.join('; ')}` : ''}`;
    findings.push({ subject, file: newest.file, ok: verdict.compatible, detail });
  }
  return findings;
}

export interface Registration {
  readonly subject: string;
  readonly file: string;
  readonly id: number;
}

/** Registers every version in order; stops at the first refusal with the registry's reason. */
export async function registerCatalog(
  datasets: readonly Dataset[],
  registryUrl: RegistryTarget,
  subjectPrefix = '',
): Promise<Registration[]> {
  const url = registryUrl;
  registryBaseUrl(url);
  const done: Registration[] = [];
  for (const dataset of datasets) {
    const subject = valueSubject(`${subjectPrefix}${dataset.topic}`);
    for (const version of dataset.versions) {
      const id = await registerValueSchema(url, dataset.topic, version.text, subject);
      done.push({ subject, file: version.file, id });
    }
  }
  return done;
}
