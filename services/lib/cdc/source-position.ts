// Read-your-database-writes. PostgreSQL decodes transactions in commit order, and Connect commits a source offset
// (Debezium's lsn_proc) only after every record before it was acknowledged by Kafka. So once the connector's
// committed offset is at or past an LSN taken after a COMMIT, every change of that transaction is in Kafka, and the
// topic's end offsets read then form a version token that covers it. The wait is bounded by Connect's
// offset.flush.interval.ms (100 ms with `infra up --cdc`) and Debezium's poll.interval.ms (50 ms).
import { HotstateError } from '../errors.ts';
import type { ConnectClient } from './connect-client.ts';

/** An LSN as PostgreSQL prints it (`16/B374D848`), or its byte position as a number or bigint. */
export type Lsn = string | number | bigint;

export function parseLsn(lsn: Lsn): bigint {
  if (typeof lsn === 'bigint') return lsn;
  if (typeof lsn === 'number') {
    if (Number.isSafeInteger(lsn) && lsn >= 0) return BigInt(lsn);
  } else {
    const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
    if (match) return (BigInt(`0x${match[1] ?? '0'}`) << 32n) | BigInt(`0x${match[2] ?? '0'}`);
    if (/^\d+$/.test(lsn)) return BigInt(lsn);
  }
  throw new HotstateError(
    'HOTSTATE_ERR_CONFIG_INVALID',
    `LSN ${String(lsn)}: expected PostgreSQL's form (16/B374D848) or a non-negative integer`,
  );
}

/**
 * A position just after everything this session committed, readable by the connector even when the captured tables
 * see no other change: a non-transactional logical message (Debezium passes it by; its offset moves past it). Run it
 * after COMMIT on the same database: `SELECT pg_logical_emit_message(false, 'hotstate', '')::text AS lsn`.
 */
export const sourcePositionQuery = "SELECT pg_logical_emit_message(false, 'hotstate', '')::text AS lsn";

/** The position the connector committed, or undefined before its first offset. */
export async function committedPosition(connect: ConnectClient, connector: string): Promise<bigint | undefined> {
  let best: bigint | undefined;
  for (const offset of await connect.offsets(connector)) {
    const raw = offset.lsn_proc ?? offset.lsn;
    if (typeof raw !== 'number' && typeof raw !== 'string') continue;
    const lsn = BigInt(raw);
    if (best === undefined || lsn > best) best = lsn;
  }
  return best;
}

/** Resolves once the connector's committed offset reached `lsn`; polls every 25 ms. */
export async function waitForCommittedPosition(
  connect: ConnectClient,
  connector: string,
  lsn: bigint,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let now: bigint | undefined;
  for (;;) {
    now = await committedPosition(connect, connector);
    if (now !== undefined && now >= lsn) return;
    if (Date.now() > deadline)
      throw new HotstateError(
        'HOTSTATE_ERR_WAIT_TIMEOUT',
        `connector ${connector} did not commit LSN ${formatLsn(lsn)} within ${String(timeoutMs)} ms (at ${now === undefined ? 'no offset yet' : formatLsn(now)})`,
        { retriable: true },
      );
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export const formatLsn = (lsn: bigint): string =>
  `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
