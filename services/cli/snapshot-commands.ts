// `hotstate snapshot save|inspect`: a snapshot file of a dataset, and what one holds and whether a view would use it.
import { formatVersionToken } from '../lib/version-token.ts';
import { HotstateError } from '../lib/errors.ts';
import { readSnapshotEntries, snapshotVersion, type SnapshotHeader } from '../lib/snapshot/format.ts';
import { judgeSnapshot, type TopicNow } from '../lib/snapshot/verdict.ts';
import type { HotstateView } from '../lib/view/view.ts';

type Print = (line: string) => void;

const tokenOf = (header: SnapshotHeader): string => formatVersionToken(snapshotVersion(header));

export async function saveSnapshot(view: HotstateView, file: string, out: Print): Promise<number> {
  const written = await view.writeSnapshot(file);
  const { header, bytes, seconds } = written;
  out(
    `wrote ${written.file}: ${String(header.entries)} keys of ${header.topic}, ${String(bytes)} bytes in ${seconds.toFixed(2)} s, version ${tokenOf(header)}`,
  );
  return 0;
}

/**
 * Checks the whole file (every length, the checksums), prints its header, and — given the topic as it is now —
 * whether a view would start from it. Throws HOTSTATE_ERR_SNAPSHOT_UNUSABLE for a damaged file or a refusal.
 */
export async function inspectSnapshot(
  file: string,
  topicNow: (topic: string) => Promise<TopicNow>,
  out: Print,
): Promise<number> {
  const header = await readSnapshotEntries(file, () => undefined);
  const ageSeconds = (Date.now() - header.createdAt) / 1000;
  out(`file:        ${file}`);
  out(`format:      ${String(header.formatVersion)} (checksums and every length verified)`);
  out(`topic:       ${header.topic} (id ${header.topicId}, ${String(header.partitions)} partitions)`);
  out(`version:     ${tokenOf(header)}`);
  out(
    `positions:   ${Object.entries(header.positions)
      .map(([p, next]) => `${p}:${String(next)}`)
      .join(' ')}`,
  );
  out(`created:     ${new Date(header.createdAt).toISOString()} (${ageSeconds.toFixed(0)} s ago)`);
  out(
    `keys:        ${String(header.entries)} (${String(header.bodyBytes)} bytes of entries), writer schemas ${header.schemaIds.join(', ')}`,
  );
  const verdict = judgeSnapshot(header, await topicNow(header.topic));
  if (!verdict.usable)
    throw new HotstateError(
      'HOTSTATE_ERR_SNAPSHOT_UNUSABLE',
      `verdict: not usable (${verdict.outcome}): ${verdict.reason}`,
    );
  out('verdict:     usable: a view of the topic as it is now would start from it');
  return 0;
}
