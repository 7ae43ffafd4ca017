// The replication slot a CDC connector reads from, as PostgreSQL sees it: whether a reader is attached, how far
// its confirmed position is behind the server's WAL (source lag, database → Kafka) and how much WAL the slot makes
// the server keep (an inactive slot keeps WAL forever: the disk fills).
import pg from 'pg';
import { HotstateError } from '../errors.ts';

export interface SlotState {
  readonly slot: string;
  readonly active: boolean;
  /** Bytes of WAL between the server's current position and what the connector confirmed. */
  readonly lagBytes: number;
  /** Bytes of WAL the server keeps for this slot. */
  readonly retainedBytes: number;
  readonly confirmedLsn: string | null;
}

/** The slot's state, or undefined when the database has no slot of that name. */
export async function replicationSlot(databaseUrl: string, slot: string): Promise<SlotState | undefined> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const { rows } = await client.query<{
      active: boolean;
      lag: string | null;
      retained: string | null;
      confirmed: string | null;
    }>(
      `SELECT active,
              pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag,
              pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS retained,
              confirmed_flush_lsn::text AS confirmed
         FROM pg_replication_slots WHERE slot_name = $1`,
      [slot],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      slot,
      active: row.active,
      lagBytes: Number(row.lag ?? 0),
      retainedBytes: Number(row.retained ?? 0),
      confirmedLsn: row.confirmed,
    };
  } catch (error) {
    throw new HotstateError(
      'HOTSTATE_ERR_CONFIG_INVALID',
      `cannot read replication slot ${slot} at ${redacted(databaseUrl)}: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The URL without its password, for messages. */
export function redacted(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparsable database URL)';
  }
}

/** Drops a removed connector's slot (waiting for its reader to let go) and publication. */
export async function dropSlotAndPublication(databaseUrl: string, slot: string, publication: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    for (let attempt = 0; ; attempt++) {
      const { rows } = await client.query<{ active: boolean }>(
        'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      if (rows[0] === undefined) break;
      if (!rows[0].active) {
        await client.query('SELECT pg_drop_replication_slot($1)', [slot]);
        break;
      }
      if (attempt > 100) throw new Error(`slot ${slot} is still in use after 20 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await client.query(`DROP PUBLICATION IF EXISTS ${client.escapeIdentifier(publication)}`);
  } catch (error) {
    throw new HotstateError(
      'HOTSTATE_ERR_CONFIG_INVALID',
      `cannot drop slot ${slot} / publication ${publication} at ${redacted(databaseUrl)}: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
