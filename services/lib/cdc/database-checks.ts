// What PostgreSQL must offer before a connector is registered, checked up front so that a mistake is named at once
// instead of surfacing as an empty topic or a failed task: logical decoding on, every table present and keyed (a
// table without a primary key gives records without keys, which no view can hold).
import pg from 'pg';
import { HotstateError } from '../errors.ts';
import { redacted } from './replication-slot.ts';

export async function databaseProblems(databaseUrl: string, tables: readonly string[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new HotstateError(
      'HOTSTATE_ERR_CONFIG_INVALID',
      `cannot connect to the database at ${redacted(databaseUrl)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  try {
    const problems: string[] = [];
    const wal = (await client.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level;
    if (wal !== 'logical') problems.push(`wal_level is ${String(wal)}: set wal_level=logical and restart PostgreSQL`);
    for (const table of tables) {
      const [schema = '', name = ''] = table.split('.');
      const { rows } = await client.query<{ exists: boolean; keyed: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2) AS exists,
                EXISTS (SELECT 1 FROM information_schema.table_constraints
                         WHERE table_schema = $1 AND table_name = $2 AND constraint_type = 'PRIMARY KEY') AS keyed`,
        [schema, name],
      );
      if (!rows[0]?.exists) problems.push(`table ${table} does not exist in ${redacted(databaseUrl)}`);
      else if (!rows[0].keyed) problems.push(`table ${table} has no primary key: a view needs one key per row`);
    }
    return problems;
  } finally {
    await client.end().catch(() => undefined);
  }
}
