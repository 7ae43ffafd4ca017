// Whether a snapshot may stand in for replaying the topic from its start. Using one is only correct if every record
// after its positions is still in the log (tombstones included): otherwise a key deleted after the snapshot could
// come back. Pure: the caller brings the topic as it is now.
import type { OffsetRange } from '../transport/transport.ts';
import type { SnapshotHeader } from './format.ts';

export type RestoreOutcome =
  'used' | 'too-old' | 'corrupt' | 'topic-changed' | 'unknown-format' | 'schemas-unavailable';

export interface TopicNow {
  readonly topic: string;
  readonly topicId: string;
  readonly offsets: readonly OffsetRange[];
  readonly deleteRetentionMs: number;
}

export type Verdict =
  | { readonly usable: true }
  | { readonly usable: false; readonly outcome: 'too-old' | 'topic-changed'; readonly reason: string };

/** The share of delete.retention.ms kept in reserve for fetching from the snapshot's positions to the end. */
export const safetyShare = 0.1;

export function judgeSnapshot(header: SnapshotHeader, now: TopicNow, at = Date.now()): Verdict {
  const changed = (reason: string): Verdict => ({ usable: false, outcome: 'topic-changed', reason });
  if (header.topic !== now.topic) return changed(`it holds topic ${header.topic}, not ${now.topic}`);
  if (header.topicId !== now.topicId)
    return changed(`topic ${now.topic} was recreated since (topic id ${header.topicId} then, ${now.topicId} now)`);
  if (header.partitions !== now.offsets.length)
    return changed(`the topic had ${String(header.partitions)} partitions, it has ${String(now.offsets.length)} now`);
  for (const { partition, start, end } of now.offsets) {
    const position = header.positions[String(partition)];
    if (position === undefined) return changed(`it has no position for partition ${String(partition)}`);
    if (position > end)
      return changed(
        `partition ${String(partition)} ends at ${String(end)}, before the snapshot's position ${String(position)} (truncated or recreated)`,
      );
    if (position < start)
      return changed(
        `partition ${String(partition)} now starts at ${String(start)}, after the snapshot's position ${String(position)}: records it needs were deleted`,
      );
  }
  const age = at - header.createdAt;
  const limit = now.deleteRetentionMs * (1 - safetyShare);
  if (age > limit) {
    return {
      usable: false,
      outcome: 'too-old',
      reason: `it is ${(age / 1000).toFixed(0)} s old, more than ${String(100 - safetyShare * 100)}% of delete.retention.ms=${String(now.deleteRetentionMs)}: tombstones written after it may have been purged, and deleted keys could come back`,
    };
  }
  return { usable: true };
}
