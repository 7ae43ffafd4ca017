// The recent changes of one dataset, in apply order, so change-feed clients can resume from a version. A client
// whose version is older than what was evicted, or who followed across a rebuild of the view, must resync (list
// again, then follow from the listing's version).
import { HotstateError } from '../lib/errors.ts';
import { formatVersionToken, otherIncarnation, parseVersionToken, type VersionVector } from '../lib/version-token.ts';
import type { Change } from '../lib/view/view.ts';

export interface FeedEvent {
  readonly key: string;
  /** null for a delete. */
  readonly value: unknown;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
}

export class ChangeLog {
  private readonly topic: string;
  /** How many changes it holds: a follower further behind than this cannot be served without loss. */
  readonly capacity: number;
  private readonly events: FeedEvent[] = [];
  private start = 0; // ring start index in `events`
  /** Sequence number of `events[start]`: each recorded change gets the next one, so followers can name ranges. */
  private firstSeq = 0;
  /** Per partition, the offset after the newest evicted change: versions below it cannot be resumed. */
  private readonly evictedUpTo = new Map<number, number>();
  /** Per partition, the offset after the newest recorded change. */
  private readonly positions = new Map<number, number>();
  private readonly followers = new Map<(event: FeedEvent, seq: number, version: string) => void, () => void>();
  /** The incarnation of the topic the recorded offsets belong to (the feed's versions carry it). */
  topicId: string | undefined;

  constructor(topic: string, capacity: number) {
    this.topic = topic;
    this.capacity = capacity;
  }

  /** Parses the token and throws HOTSTATE_ERR_FEED_RESYNC_NEEDED when changes after it were already evicted. */
  resumable(fromToken: string): ReturnType<typeof parseVersionToken> {
    const from = parseVersionToken(fromToken);
    if (from.topic !== this.topic)
      throw new HotstateError(
        'HOTSTATE_ERR_TOKEN_TOPIC',
        `version token is for topic ${from.topic}, not ${this.topic}`,
      );
    const elsewhere = otherIncarnation(from, this.topicId);
    if (elsewhere !== undefined)
      throw new HotstateError(
        'HOTSTATE_ERR_FEED_RESYNC_NEEDED',
        `version ${fromToken} cannot be resumed: ${elsewhere}; list the dataset again and follow from the listing's version`,
      );
    for (const [partition, evicted] of this.evictedUpTo) {
      if ((from.positions.get(partition) ?? 0) < evicted) {
        throw new HotstateError(
          'HOTSTATE_ERR_FEED_RESYNC_NEEDED',
          `version ${fromToken} is older than the changes this service still holds (partition ${String(partition)} from offset ${String(evicted)}); list the dataset again and follow from the listing's version`,
        );
      }
    }
    return from;
  }

  private versionAt(positions: ReadonlyMap<number, number>): VersionVector {
    return { topic: this.topic, topicId: this.topicId, positions };
  }

  /** The changes of each partition before `from` will not be recorded: versions before them cannot be resumed. */
  startFrom(from: ReadonlyMap<number, number>): void {
    for (const [partition, offset] of from)
      this.evictedUpTo.set(partition, Math.max(offset, this.evictedUpTo.get(partition) ?? 0));
  }

  record(change: Change): void {
    const event: FeedEvent = {
      key: change.key,
      value: change.value ?? null,
      partition: change.partition,
      offset: change.offset,
      timestamp: change.timestamp,
    };
    if (this.events.length - this.start >= this.capacity) {
      this.firstSeq++;
      const evicted = this.events[this.start++];
      if (evicted) this.evictedUpTo.set(evicted.partition, evicted.offset + 1);
      if (this.start > this.capacity) {
        this.events.splice(0, this.start); // compact now and then
        this.start = 0;
      }
    }
    this.events.push(event);
    this.positions.set(event.partition, event.offset + 1);
    if (this.followers.size === 0) return;
    const version = formatVersionToken(this.versionAt(this.positions)); // once for every follower
    const seq = this.nextSeq - 1;
    for (const follow of this.followers.keys()) follow(event, seq, version);
  }

  /** The sequence number the next recorded change gets. */
  get nextSeq(): number {
    return this.firstSeq + this.events.length - this.start;
  }

  /** The change with sequence number `seq`, while the log holds it. */
  eventAt(seq: number): FeedEvent | undefined {
    return seq < this.firstSeq ? undefined : this.events[this.start + seq - this.firstSeq];
  }

  /**
   * The view is rebuilding: its offsets start over, so no version held before can be resumed. Every follower is
   * told to resync and dropped.
   */
  reset(): void {
    this.firstSeq = this.nextSeq; // numbers are never reused
    this.events.length = 0;
    this.start = 0;
    this.evictedUpTo.clear();
    this.positions.clear();
    const resyncs = [...this.followers.values()];
    this.followers.clear();
    for (const resync of resyncs) resync();
  }

  /**
   * Replays buffered changes after `fromToken` and then follows live ones, synchronously in between so nothing is
   * missed or repeated. `seq` is the change's sequence number in this log; `resumeToken` is the version after the
   * event for this follower; `shared` says it is the log's own version after the event, the same for every follower
   * that caught up (so the bytes can be shared). Returns the function that stops following.
   */
  follow(
    fromToken: string,
    emit: (event: FeedEvent, seq: number, resumeToken: string, shared: boolean) => void,
    resync: () => void,
  ): () => void {
    const from = this.resumable(fromToken);
    const positions = new Map(from.positions);
    // A follower whose version is ahead of this log somewhere (a token from another instance) keeps its own tokens.
    const ahead = (): boolean =>
      [...positions].some(([partition, next]) => next > (this.positions.get(partition) ?? 0));
    let own = true;
    const send = (event: FeedEvent, seq: number, version?: string): void => {
      if (event.offset < (positions.get(event.partition) ?? 0)) return;
      positions.set(event.partition, event.offset + 1);
      if (version !== undefined && own) own = ahead();
      if (version !== undefined && !own) emit(event, seq, version, true);
      else emit(event, seq, formatVersionToken(this.versionAt(positions)), false);
    };
    for (let i = this.start; i < this.events.length; i++) {
      const event = this.events[i];
      if (event) send(event, this.firstSeq + i - this.start);
    }
    this.followers.set(send, resync);
    return () => {
      this.followers.delete(send);
    };
  }
}
