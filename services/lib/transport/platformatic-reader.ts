// Reads every partition of a topic by manual assignment: one fetch loop per leader node (fetch sessions are per
// node), each with its own client, no consumer group. Leaders are re-resolved from fresh metadata whenever a
// fetch fails, so a leader kill moves its partitions to the new leader's loop within one metadata round trip.
// Chunks reach the handler one at a time, in offset order per partition, whatever loop fetched them.
import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer, FetchIsolationLevels } from '@platformatic/kafka';
import type { fetchV17 } from '@platformatic/kafka';
import { clientSettings, isUnknownTopic } from './platformatic-transport.ts';
import { isAuthorizationCode, securityError } from './security-errors.ts';
import type { FetchedRecord, KafkaConnection, PartitionChunk, PartitionReader, ReadHandler, TopicLayout } from './transport.ts';

/**
 * Fetch response sizes: the library walks a response's chunks from the start on every read, so keep them small. Under
 * TLS a response arrives in 16 KiB records (four times as many chunks), so half the size is faster there
 * (`bench:secure`: 10.8 s → 9.6 s for 1M keys) while plaintext is faster at 1 MiB (8.4 s vs 9.2 s).
 */
const maxBytesFor = (connection: KafkaConnection): number => (connection.tls ? 512 * 1024 : 1024 * 1024);
/** How long the broker may hold a fetch when there is nothing new: new records still come back at once. */
const MAX_WAIT_MS = 500;
const CONTROL_BATCH = 0x20;

// Kafka error codes a fetch answers per partition (https://kafka.apache.org/protocol#protocol_error_codes).
const OFFSET_OUT_OF_RANGE = 1;

type FetchResponse = fetchV17.FetchResponse;
type Partition = fetchV17.FetchResponsePartition;

class ManualAssignmentReader implements PartitionReader {
  private readonly connection: KafkaConnection;
  private readonly maxBytes: number;
  private readonly layout: TopicLayout;
  private readonly handler: ReadHandler;
  private readonly positions: Map<number, number>;
  private readonly leaders = new Map<number, number>();
  /** Partitions the handler was told are out of range: not fetched until the reader is replaced. */
  private readonly parked = new Set<number>();
  private readonly unavailable = new Set<number>();
  private readonly loops = new Map<number, Promise<void>>();
  private readonly metadataClient: Consumer;
  private delivery: Promise<void> = Promise.resolve();
  private refreshing: Promise<void> | undefined;
  private running = true;

  constructor(connection: KafkaConnection, layout: TopicLayout, positions: ReadonlyMap<number, number>, handler: ReadHandler) {
    this.connection = connection;
    this.maxBytes = maxBytesFor(connection);
    this.layout = layout;
    this.handler = handler;
    this.positions = new Map(positions);
    for (const { partition, leader } of layout.partitions) this.leaders.set(partition, leader);
    this.metadataClient = this.client('reader-metadata');
    this.startLoops();
  }

  private client(role: string): Consumer {
    // retries 0: a failed fetch comes back at once and this reader decides (re-resolve leaders, back off).
    return new Consumer({ ...clientSettings(this.connection, role), groupId: 'hotstate-unused', retries: 0, timeout: MAX_WAIT_MS + 10_000, isolationLevel: FetchIsolationLevels.READ_COMMITTED });
  }

  private startLoops(): void {
    for (const node of new Set(this.leaders.values())) {
      if (node >= 0 && !this.loops.has(node)) {
        const loop = this.runNode(node).finally(() => this.loops.delete(node));
        this.loops.set(node, loop);
      }
    }
  }

  private partitionsOf(node: number): number[] {
    return [...this.leaders].filter(([p, leader]) => leader === node && !this.parked.has(p)).map(([p]) => p);
  }

  private async runNode(node: number): Promise<void> {
    const client = this.client(`reader-${String(node)}`);
    let failures = 0;
    try {
      while (this.running) {
        const partitions = this.partitionsOf(node);
        if (partitions.length === 0) return;
        const asked = new Map(partitions.map((p) => [p, this.positions.get(p) ?? 0]));
        let response: FetchResponse | undefined;
        let failure: unknown;
        try {
          response = await client.fetch({
            node,
            maxBytes: this.maxBytes,
            maxWaitTime: MAX_WAIT_MS,
            minBytes: 1,
            topics: [{
              topicId: this.layout.topicId,
              partitions: partitions.map((partition) => ({ partition, fetchOffset: BigInt(asked.get(partition) ?? 0), partitionMaxBytes: this.maxBytes, currentLeaderEpoch: -1, lastFetchedEpoch: -1 })),
            }],
          });
        } catch (error) {
          failure = error;
          // A response-level error still carries the answers of the partitions that did not fail.
          response = (error as { response?: FetchResponse }).response;
        }
        if (this.stopped()) return; // stop() may have come while the fetch was in flight
        const fetching = `fetching ${this.layout.topic} from node ${String(node)}`;
        const refused = securityError(fetching, failure) ?? securityError(fetching, deniedAnswer(response));
        if (refused) {
          this.running = false;
          this.handler.problem({ kind: 'refused', error: refused });
          return;
        }
        const answered = await this.deliver(response, asked);
        if (failure === undefined && answered) {
          failures = 0;
          continue;
        }
        failures++;
        const stuck = partitions.filter((p) => !this.parked.has(p));
        // Only a fetch that got no answer at all means the data is out of reach (a broker down, no leader).
        if (stuck.length > 0 && failure !== undefined && response === undefined) {
          stuck.forEach((p) => this.unavailable.add(p));
          this.handler.problem({ kind: 'unavailable', partitions: stuck, detail: `fetching from node ${String(node)} failed: ${(failure as Error).message}` });
        }
        await sleep(Math.min(50 * 2 ** Math.min(failures, 5), 1000));
        await this.refreshLeaders();
      }
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  /** Hands every answered partition to the handler, in order; returns false when some partition needs new metadata. */
  private async deliver(response: FetchResponse | undefined, asked: ReadonlyMap<number, number>): Promise<boolean> {
    if (!response) return false;
    let allAnswered = true;
    const chunks: PartitionChunk[] = [];
    for (const topic of response.responses) {
      for (const answer of topic.partitions) {
        const position = asked.get(answer.partitionIndex);
        if (position === undefined) continue;
        if (answer.errorCode === OFFSET_OUT_OF_RANGE) {
          this.parked.add(answer.partitionIndex);
          this.handler.problem({ kind: 'out-of-range', partition: answer.partitionIndex, position });
        } else if (answer.errorCode !== 0) {
          allAnswered = false; // not the leader any more, or the topic is gone: the metadata refresh tells which
        } else {
          chunks.push(toChunk(answer, position));
        }
      }
    }
    const recovered = chunks.map((c) => c.partition).filter((p) => this.unavailable.delete(p));
    if (recovered.length > 0) this.handler.recovered(recovered);
    const run = this.delivery.then(async () => {
      for (const chunk of chunks) {
        if (!this.running) return;
        // Another loop may have delivered this partition meanwhile (a leader moved): keep only what is new.
        const position = this.positions.get(chunk.partition) ?? 0;
        const next = Math.max(chunk.next, position);
        const stale = (chunk.records[0]?.offset ?? position) < position;
        const records = stale ? chunk.records.filter((r) => r.offset >= position) : chunk.records;
        await this.handler.chunk({ ...chunk, records, next });
        this.positions.set(chunk.partition, next);
      }
    });
    this.delivery = run.catch(() => undefined);
    await run;
    return allAnswered;
  }

  /** Re-reads the leaders (one refresh at a time); tells the handler when the topic is gone or was recreated. */
  private refreshLeaders(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const metadata = await this.metadataClient.metadata({ topics: [this.layout.topic], forceUpdate: true });
        const topic = metadata.topics.get(this.layout.topic);
        if (!topic || topic.id !== this.layout.topicId) {
          this.running = false;
          this.handler.problem({ kind: 'topic-gone' });
          return;
        }
        topic.partitions.forEach((p, partition) => this.leaders.set(partition, p.leader));
        this.startLoops();
      } catch (error) {
        if (isUnknownTopic(error)) {
          this.running = false;
          this.handler.problem({ kind: 'topic-gone' });
        }
        // Otherwise the loops retry and ask again.
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private stopped(): boolean {
    return !this.running;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.allSettled([...this.loops.values()]);
    await this.delivery;
    await this.metadataClient.close().catch(() => undefined);
  }
}

/** A fetch answer where a partition was refused by an ACL, as an error securityError recognises. */
function deniedAnswer(response: FetchResponse | undefined): unknown {
  for (const topic of response?.responses ?? []) {
    for (const answer of topic.partitions) if (isAuthorizationCode(answer.errorCode)) return { errorCode: answer.errorCode };
  }
  return undefined;
}

/** Data records of one partition's answer at or after `position`; control batches only move `next` on. */
function toChunk(answer: Partition, position: number): PartitionChunk {
  const records: FetchedRecord[] = [];
  let next = position;
  for (const batch of answer.records ?? []) {
    const first = Number(batch.firstOffset);
    next = Math.max(next, first + batch.lastOffsetDelta + 1);
    if ((batch.attributes & CONTROL_BATCH) !== 0) continue;
    const firstTimestamp = Number(batch.firstTimestamp);
    for (const record of batch.records) {
      const offset = first + record.offsetDelta;
      if (offset < position) continue;
      records.push({ offset, timestamp: firstTimestamp + Number(record.timestampDelta), key: record.key, value: record.value, headers: record.headers });
    }
  }
  return { partition: answer.partitionIndex, records, next, highWatermark: Number(answer.highWatermark), logStart: Number(answer.logStartOffset) };
}

export function createPartitionReader(connection: KafkaConnection, layout: TopicLayout, positions: ReadonlyMap<number, number>, handler: ReadHandler): PartitionReader {
  return new ManualAssignmentReader(connection, layout, positions, handler);
}
