// The Debezium PostgreSQL connector configured the way a view needs it: topics compacted (they pass the view's topic
// checks), a tombstone after each delete, heartbeats (so the replication slot advances on a quiet database), a named
// publication and slot, a snapshot of existing rows, transaction metadata, and Avro keys and values in the Confluent
// frame through Apicurio's converter (Confluent's own is not on Maven Central).
import { basename, dirname, isAbsolute } from 'node:path';
import { HotstateError } from '../errors.ts';

/** How the converter, inside the Connect worker, reaches a secured registry. Files are paths as the worker sees them. */
export interface ConverterRegistryAccess {
  /** Basic-auth user, with passwordFile. */
  readonly username?: string;
  /** Read by the worker's `dir` config provider (Kafka's DirectoryConfigProvider), so the password never appears in
   *  the connector's config, which Connect's REST API shows. */
  readonly passwordFile?: string;
  /** PEM CA the registry's certificate is checked against (otherwise the worker JVM's default trust). */
  readonly caFile?: string;
}

export interface CdcSource {
  /** Connector name; also the topic prefix (`<name>.<schema>.<table>`), the publication and the slot. */
  readonly name: string;
  /** postgres://user[:password]@host:port/database, as the Connect worker reaches the database. */
  readonly databaseUrl: string;
  /** Tables as `schema.table`. */
  readonly tables: readonly string[];
  /** Confluent-compatible URL of an Apicurio registry (…/apis/ccompat/v7): the converter speaks its v2 API. */
  readonly registryUrl: string;
  /** Partitions of each table's topic. @defaultValue 1 */
  readonly partitions?: number;
  /** Replication factor of the topics Connect creates. @defaultValue 1 */
  readonly replicationFactor?: number;
  /** Credentials and CA of the converter's registry requests, for a registry behind HTTPS and basic auth. */
  readonly converterRegistry?: ConverterRegistryAccess;
}

const namePattern = /^[a-z][a-z0-9_]{0,40}$/;
const tablePattern = /^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$/;

/** Why the source cannot be registered, each problem naming the field; empty when it can. */
export function cdcSourceProblems(source: CdcSource): string[] {
  const problems: string[] = [];
  if (!namePattern.test(source.name))
    problems.push(
      `name ${JSON.stringify(source.name)}: lowercase letters, digits and _ (it names the slot), at most 41`,
    );
  if (source.tables.length === 0) problems.push('tables: name at least one, as schema.table');
  for (const table of source.tables)
    if (!tablePattern.test(table)) problems.push(`table ${JSON.stringify(table)}: expected schema.table`);
  let url: URL | undefined;
  try {
    url = new URL(source.databaseUrl);
  } catch {
    problems.push(`database URL ${JSON.stringify(source.databaseUrl)}: expected postgres://user@host:port/database`);
  }
  if (url && !/^postgres(ql)?:$/.test(url.protocol)) problems.push(`database URL: ${url.protocol} is not postgres:`);
  if (url?.pathname.length !== undefined && url.pathname.length <= 1) problems.push('database URL: no database name');
  if (!/\/apis\/ccompat\/v\d+\/?$/.test(source.registryUrl))
    problems.push(
      `registry URL ${source.registryUrl}: the converter needs an Apicurio registry; give its Confluent API URL (…/apis/ccompat/v7)`,
    );
  const access = source.converterRegistry;
  if ((access?.username === undefined) !== (access?.passwordFile === undefined))
    problems.push('converter registry access: give the user and the password file together');
  for (const [what, file] of [
    ['password file', access?.passwordFile],
    ['CA file', access?.caFile],
  ] as const)
    if (file !== undefined && !isAbsolute(file))
      problems.push(
        `converter registry ${what} ${JSON.stringify(file)}: an absolute path, as the Connect worker reads it`,
      );
  return problems;
}

/** The converter's registry settings: basic auth (the password by reference) and the CA bundle. */
function converterAccess(access: ConverterRegistryAccess | undefined): Record<string, string> {
  return {
    ...(access?.username !== undefined && access.passwordFile !== undefined
      ? {
          'apicurio.auth.username': access.username,
          'apicurio.auth.password': `\${dir:${dirname(access.passwordFile)}:${basename(access.passwordFile)}}`,
        }
      : {}),
    ...(access?.caFile === undefined ? {} : { 'apicurio.rest.request.ssl.ca-bundle.location': access.caFile }),
  };
}

/** Apicurio's own API beside its Confluent-compatible one: the converter registers through it. */
export const apicurioApiUrl = (ccompatUrl: string): string =>
  ccompatUrl.replace(/\/apis\/ccompat\/v\d+\/?$/, '/apis/registry/v2');

export const topicOf = (source: Pick<CdcSource, 'name'>, table: string): string => `${source.name}.${table}`;
export const transactionTopicOf = (source: Pick<CdcSource, 'name'>): string => `${source.name}.transaction`;

export function debeziumConnectorConfig(source: CdcSource): Record<string, string> {
  const problems = cdcSourceProblems(source);
  if (problems.length > 0)
    throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', `CDC source ${source.name}: ${problems.join('; ')}`);
  const url = new URL(source.databaseUrl);
  const registry = apicurioApiUrl(source.registryUrl);
  const converter = (side: 'key' | 'value'): Record<string, string> => ({
    [`${side}.converter`]: 'io.apicurio.registry.utils.converter.AvroConverter',
    [`${side}.converter.apicurio.registry.url`]: registry,
    [`${side}.converter.apicurio.registry.auto-register`]: 'true',
    [`${side}.converter.apicurio.registry.find-latest`]: 'true',
    // The Confluent frame with the ids the Confluent API serves (content ids), no id headers.
    [`${side}.converter.apicurio.registry.as-confluent`]: 'true',
    [`${side}.converter.apicurio.registry.use-id`]: 'contentId',
    [`${side}.converter.apicurio.registry.headers.enabled`]: 'false',
    ...Object.fromEntries(
      Object.entries(converterAccess(source.converterRegistry)).map(([k, v]) => [`${side}.converter.${k}`, v]),
    ),
  });
  return {
    'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
    'tasks.max': '1',
    'database.hostname': url.hostname,
    'database.port': url.port || '5432',
    'database.user': decodeURIComponent(url.username || 'postgres'),
    'database.password': decodeURIComponent(url.password),
    'database.dbname': url.pathname.slice(1),
    'topic.prefix': source.name,
    'plugin.name': 'pgoutput',
    'slot.name': source.name,
    'publication.name': source.name,
    'publication.autocreate.mode': 'filtered',
    'table.include.list': source.tables.join(','),
    'snapshot.mode': 'initial',
    'tombstones.on.delete': 'true',
    'provide.transaction.metadata': 'true',
    'heartbeat.interval.ms': '1000',
    'poll.interval.ms': '50',
    // Values a view can show as they are: numerics as decimal text, not Avro bytes.
    'decimal.handling.mode': 'string',
    'extended.headers.enabled': 'false',
    'topic.creation.default.partitions': String(source.partitions ?? 1),
    'topic.creation.default.replication.factor': String(source.replicationFactor ?? 1),
    'topic.creation.default.cleanup.policy': 'compact',
    // The transaction topic is a log of boundaries, not a table: deleted by age.
    'topic.creation.groups': 'transactions',
    'topic.creation.transactions.include': `${source.name}\\.transaction`,
    'topic.creation.transactions.cleanup.policy': 'delete',
    'topic.creation.transactions.partitions': '1',
    'topic.creation.transactions.replication.factor': String(source.replicationFactor ?? 1),
    ...converter('key'),
    ...converter('value'),
  };
}
