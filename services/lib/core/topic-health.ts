// What a view must do about its topic as the brokers describe it now: nothing, fail (the topic is gone), or rebuild
// (recreated under a new id, truncated below the view's position, or records removed before the view read them).
// Pure functions of what was asked and answered, unit-tested over plain numbers; the view does the asking.
import type { OffsetRange, TopicLayout } from '../transport/transport.ts';
import type { RebuildReason } from './view-state.ts';

export type TopicVerdict =
  | { readonly action: 'none' }
  | { readonly action: 'fail-missing'; readonly detail: string }
  | { readonly action: 'rebuild'; readonly reason: RebuildReason; readonly detail: string };

const none: TopicVerdict = { action: 'none' };

/** From the topic's layout: gone, or recreated (a new topic id, or back after it was missing). */
export function judgeLayout(
  topic: string,
  layout: TopicLayout | undefined,
  knownTopicId: string | undefined,
  wasMissing: boolean,
): TopicVerdict {
  if (!layout) return { action: 'fail-missing', detail: `topic ${topic} does not exist (deleted?)` };
  if (layout.topicId !== knownTopicId || wasMissing)
    return { action: 'rebuild', reason: 'topic-recreated', detail: `topic ${topic} has a new topic id` };
  return none;
}

/**
 * From the offsets, given the positions the view held *before* asking (only a position the broker had already
 * passed proves a truncation): truncated below a position, or records removed before the view read them.
 */
export function judgeOffsets(asked: ReadonlyMap<number, number>, offsets: readonly OffsetRange[]): TopicVerdict {
  for (const { partition, start, end } of offsets) {
    const position = asked.get(partition) ?? 0;
    if (end < position)
      return {
        action: 'rebuild',
        reason: 'topic-truncated',
        detail: `partition ${String(partition)} ends at ${String(end)}, below the view position ${String(position)}`,
      };
    if (start > position && position < end) {
      return {
        action: 'rebuild',
        reason: 'offset-out-of-range',
        detail: `partition ${String(partition)} now starts at ${String(start)}, records from ${String(position)} were removed before this view read them`,
      };
    }
  }
  return none;
}
