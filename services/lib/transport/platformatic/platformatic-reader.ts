// Reads every partition of a topic by manual assignment: one fetch loop per leader node, each on its own connection
// to that broker, no consumer group. Leaders are re-resolved from fresh metadata whenever a
// fetch fails, so a leader kill moves its partitions to the new leader's loop within one metadata round trip.
// Chunks reach the handler one at a time, in offset order per partition, whatever loop fetched them. Fetches go
// out on the library's connections but their record batches are decoded here (raw-fetch.ts, record-batches.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionPool, Consumer, FetchIsolationLevels, kGetApi } from './kafka-library.ts';
import { clientSettings } from './client-settings.ts';
import { isUnknownTopic } from './library-errors.ts';
import { fetchVersions, rawFetch, type RawFetchResponse, type RawPartitionAnswer } from './raw-fetch.ts';
import { decodeRecordBatches } from './record-batches.ts';
import { isAuthorizationCode, securityError } from './security-errors.ts';
import type { KafkaConnection, PartitionChunk, PartitionReader, ReadHandler, TopicLayout } from '../transport.ts';

/**
 * Fetch response sizes (`bench:replay` raw and `bench:secure`, 1M keys): plaintext reads fastest at 1 MiB (2.2–2.4 s
 * raw, vs 2.5–2.7 s at 4 MiB); under TLS, 4 MiB brings the view's replay to 1.05× the plaintext time, where 512 KiB
 * and 1 MiB took 1.24–1.25× (each fetch costs TLS records and a round trip the broker serves on the same cores).
 */
const maxBytesFor = (connection: KafkaConnection): number => (connection.tls ? 4 * 1024 * 1024 : 1024 * 1024);
/** How long the broker may hold a fetch when there is nothing new: new records still come back at once. */
const MAX_WAIT_MS = 500;

// Kafka error codes a fetch answers per partition (https://kafka.apache.org/protocol#protocol_error_codes).
const OFFSET_OUT_OF_RANGE = 1;

type FetchResponse = RawFetchResponse;
type Broker = { host: string; port: number };

/** A fetch's answer (or why there is none) and the positions it asked for. */
interface Fetched {
  readonly asked: ReadonlyMap<number, number>;
  readonly response: FetchResponse | undefined;
  readonly failure: unknown;
}

const samePositions = (a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): boolean =>
  a.size === b.size && [...a].every(([partition, position]) => b.get(partition) === position);

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
  /** The connections of every fetch loop (one per broker). */
  private readonly pool: ConnectionPool;
  private readonly brokers = new Map<number, Broker>();
  private fetchVersion: Promise<number> | undefined;
  private delivery: Promise<void> = Promise.resolve();
  private refreshing: Promise<void> | undefined;
  private running = true;

  constructor(
    connection: KafkaConnection,
    layout: TopicLayout,
    positions: ReadonlyMap<number, number>,
    handler: ReadHandler,
  ) {
    this.connection = connection;
    this.maxBytes = maxBytesFor(connection);
    this.layout = layout;
    this.handler = handler;
    this.positions = new Map(positions);
    for (const { partition, leader } of layout.partitions) this.leaders.set(partition, leader);
    // retries 0: a failed request comes back at once and this reader decides (re-resolve leaders, back off).
    const settings = clientSettings(this.connection, 'reader');
    this.metadataClient = new Consumer({
      ...settings,
      groupId: 'hotstate-unused',
      retries: 0,
      timeout: MAX_WAIT_MS + 10_000,
    });
    this.pool = new ConnectionPool(settings.clientId, { ...settings, requestTimeout: MAX_WAIT_MS + 10_000 });
    this.startLoops();
  }

  /** The newest Fetch version both the broker and raw-fetch.ts speak (asked once). */
  private version(): Promise<number> {
    this.fetchVersion ??= new Promise<number>((resolve, reject) => {
      this.metadataClient[kGetApi]('Fetch', (error, api) => {
        if (error) reject(error);
        else resolve(Math.min(api?.version ?? 0, Math.max(...fetchVersions)));
      });
    })
      .then((version) => {
        if (!fetchVersions.includes(version))
          throw new Error(
            `the broker speaks Fetch up to version ${String(version)}; reading needs ${String(Math.min(...fetchVersions))} or newer (Kafka 3.1+)`,
          );
        return version;
      })
      .catch((error: unknown) => {
        this.fetchVersion = undefined;
        throw error;
      });
    return this.fetchVersion;
  }

  /** Where `node` listens, from metadata asked again when it is not known. */
  private async broker(node: number): Promise<Broker> {
    if (!this.brokers.has(node)) await this.refreshLeaders();
    const broker = this.brokers.get(node);
    if (broker === undefined) throw new Error(`node ${String(node)} is not in the cluster's metadata`);
    return broker;
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
    let failures = 0;
    let ahead: Promise<Fetched> | undefined;
    while (this.running) {
      const partitions = this.partitionsOf(node);
      if (partitions.length === 0) return;
      const asked = new Map(partitions.map((p) => [p, this.positions.get(p) ?? 0]));
      let fetched = await ahead;
      ahead = undefined;
      if (fetched === undefined || !samePositions(fetched.asked, asked)) fetched = await this.fetchFrom(node, asked);
      const { response, failure } = fetched;
      if (this.stopped()) return; // stop() may have come while the fetch was in flight
      const fetching = `fetching ${this.layout.topic} from node ${String(node)}`;
      const refused = securityError(fetching, failure) ?? securityError(fetching, deniedAnswer(response));
      if (refused) {
        this.running = false;
        this.handler.problem({ kind: 'refused', error: refused });
        return;
      }
      const { chunks, answered } = this.collect(response, asked);
      if (failure === undefined && answered && chunks.length === partitions.length) {
        // Ask for what follows while these records are applied: the broker reads and sends meanwhile.
        ahead = this.fetchFrom(
          node,
          new Map(chunks.map((c) => [c.partition, Math.max(c.next, asked.get(c.partition) ?? 0)])),
        );
      }
      await this.deliver(chunks);
      if (failure === undefined && answered) {
        failures = 0;
        continue;
      }
      failures++;
      const stuck = partitions.filter((p) => !this.parked.has(p));
      // Only a fetch that got no answer at all means the data is out of reach (a broker down, no leader).
      if (stuck.length > 0 && failure !== undefined && response === undefined) {
        stuck.forEach((p) => this.unavailable.add(p));
        this.handler.problem({
          kind: 'unavailable',
          partitions: stuck,
          detail: `fetching from node ${String(node)} failed: ${(failure as Error).message}`,
        });
      }
      await sleep(Math.min(50 * 2 ** Math.min(failures, 5), 1000));
      await this.refreshLeaders();
    }
  }

  /** One fetch of `asked` from `node`; never rejects (a failure is in the answer). */
  private async fetchFrom(node: number, asked: ReadonlyMap<number, number>): Promise<Fetched> {
    try {
      const response = await rawFetch(this.pool, await this.broker(node), {
        version: await this.version(),
        maxWaitMs: MAX_WAIT_MS,
        maxBytes: this.maxBytes,
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        topicId: this.layout.topicId,
        partitions: [...asked].map(([partition, fetchOffset]) => ({ partition, fetchOffset })),
      });
      return { asked, response, failure: response.errorCode === 0 ? undefined : { errorCode: response.errorCode } };
    } catch (error) {
      return { asked, response: undefined, failure: error };
    }
  }

  /** The answered partitions' chunks; `answered` is false when some partition needs new metadata. */
  private collect(
    response: FetchResponse | undefined,
    asked: ReadonlyMap<number, number>,
  ): { chunks: PartitionChunk[]; answered: boolean } {
    if (!response) return { chunks: [], answered: false };
    let answered = true;
    const chunks: PartitionChunk[] = [];
    for (const topic of response.responses) {
      for (const answer of topic.partitions) {
        const position = asked.get(answer.partitionIndex);
        if (position === undefined) continue;
        if (answer.errorCode === OFFSET_OUT_OF_RANGE) {
          this.parked.add(answer.partitionIndex);
          this.handler.problem({ kind: 'out-of-range', partition: answer.partitionIndex, position });
        } else if (answer.errorCode !== 0) {
          answered = false; // not the leader any more, or the topic is gone: the metadata refresh tells which
        } else {
          try {
            chunks.push(toChunk(answer, position));
          } catch (error) {
            // Bytes this client cannot decode: said, and fetched again (with backoff) rather than skipped.
            answered = false;
            this.unavailable.add(answer.partitionIndex);
            this.handler.problem({
              kind: 'unavailable',
              partitions: [answer.partitionIndex],
              detail: `decoding partition ${String(answer.partitionIndex)} at offset ${String(position)} failed: ${(error as Error).message}`,
            });
          }
        }
      }
    }
    return { chunks, answered };
  }

  /** Hands the chunks to the handler, in order, after what other loops are handing over. */
  private async deliver(chunks: readonly PartitionChunk[]): Promise<void> {
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
        for (const [node, { host, port }] of metadata.brokers) this.brokers.set(node, { host, port });
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
    await new Promise<void>((resolve) => {
      this.pool.close(() => {
        resolve();
      });
    });
    await this.metadataClient.close().catch(() => undefined);
  }
}

/** A fetch answer where a partition was refused by an ACL, as an error securityError recognises. */
function deniedAnswer(response: FetchResponse | undefined): unknown {
  for (const topic of response?.responses ?? []) {
    for (const answer of topic.partitions)
      if (isAuthorizationCode(answer.errorCode)) return { errorCode: answer.errorCode };
  }
  return undefined;
}

/** Data records of one partition's answer at or after `position`; control batches only move `next` on. */
function toChunk(answer: RawPartitionAnswer, position: number): PartitionChunk {
  const { records, next } =
    answer.records === null
      ? { records: [], next: position }
      : decodeRecordBatches(answer.records, position, answer.abortedTransactions ?? []);
  return {
    partition: answer.partitionIndex,
    records,
    next,
    highWatermark: answer.highWatermark,
    logStart: answer.logStartOffset,
  };
}

export function createPartitionReader(
  connection: KafkaConnection,
  layout: TopicLayout,
  positions: ReadonlyMap<number, number>,
  handler: ReadHandler,
): PartitionReader {
  return new ManualAssignmentReader(connection, layout, positions, handler);
}
