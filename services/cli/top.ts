// `hotstate top`: per dataset and partition, end offset, position, lag and ready state of running state services,
// refreshed in the terminal (or printed once), for operators without Grafana at hand.
import { setTimeout as sleep } from 'node:timers/promises';
import { HotstateError } from '../lib/errors.ts';
import type { ViewStatus } from '../lib/view/view.ts';
import type { Print } from './emit.ts';
import { exitCodes } from '../common/exit-codes.ts';

interface Listing {
  readonly datasets: Array<ViewStatus & { name: string }>;
}

async function fetchListing(url: string, token: string | undefined): Promise<Listing> {
  try {
    const response = await fetch(`${url.replace(/\/$/, '')}/v1/datasets`, {
      signal: AbortSignal.timeout(5000),
      ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
    });
    if (!response.ok) throw new Error(`HTTP ${String(response.status)}`);
    return (await response.json()) as Listing;
  } catch (error) {
    throw new HotstateError(
      'HOTSTATE_ERR_SERVICE_UNREACHABLE',
      `state service ${url} did not answer: ${(error as Error).message}`,
      { cause: error, retriable: true },
    );
  }
}

export function renderTop(listings: ReadonlyArray<{ url: string; listing: Listing }>): string {
  const rows = [['INSTANCE', 'DATASET', 'PARTITION', 'END', 'POSITION', 'LAG', 'READY', 'KEYS', 'PINNED']];
  for (const { url, listing } of listings) {
    for (const d of listing.datasets) {
      for (const p of d.partitions) {
        const pinned = d.pinned
          ? `since ${new Date(d.pinned.since).toISOString()}, ${String(d.pinned.recordsBehind)} behind: ${d.pinned.reason}`
          : '-';
        rows.push([
          url,
          d.name,
          String(p.partition),
          String(p.end),
          String(p.position),
          String(p.lag),
          d.ready ? 'yes' : `no: ${d.reason ?? ''}`,
          String(d.keys),
          pinned,
        ]);
      }
    }
  }
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export async function top(
  urls: readonly string[],
  options: { once: boolean; intervalMs: number; token?: string },
  out: Print,
  stop: AbortSignal,
): Promise<number> {
  for (;;) {
    const listings = await Promise.all(
      urls.map(async (url) => ({ url, listing: await fetchListing(url, options.token) })),
    );
    const table = renderTop(listings);
    if (options.once) {
      out(table);
      return exitCodes.ok;
    }
    out(`\x1b[2J\x1b[H${new Date().toISOString()}  (Ctrl-C to quit)\n\n${table}`);
    await sleep(options.intervalMs, undefined, { signal: stop }).catch(() => undefined);
    if (stop.aborted) return exitCodes.ok;
  }
}
