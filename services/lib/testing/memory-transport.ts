// An in-memory implementation of our own transport seam and schema source, so a view's rules (readiness,
// poison, staleness, rebuilds, close) and a user's own code are tested without a broker ('hotstate/testing').
// Partitions are arrays of records; the test appends, pauses delivery, makes fetching fail, truncates or recreates
// the topic.
import { randomUUID } from 'node:crypto';
import { HotstateError } from '../errors.ts';
import {
  FetchedRecord,
  type OffsetRange,
  type PartitionReader,
  type ReadHandler,
  type TopicLayout,
  type Transport,
  type TransportProducer,
} from '../transport/transport.ts';
import type { SchemaSource } from '../core/writer-schemas.ts';

export class MemoryTopic implements Transport {
  readonly name: string;
  topicId = randomUUID();
  configs: Record<string, string> = { 'cleanup.policy': 'compact', 'delete.retention.ms': '86400000' };
  exists = true;
  /** While true, readers fetch nothing (as if the fetch loop were stuck) although offsets() shows the records. */
  paused = false;
  /** Partitions the reader does not fetch (while the others go on), as a leader in transition answers. */
  readonly pausedPartitions = new Set<number>();
  /** While set, every fetch fails with this detail (a broker down). */
  failing: string | undefined;
  private partitions: FetchedRecord[][];
  private starts: number[];
  private readonly readers = new Set<MemoryReader>();

  /** Readers started and not stopped. */
  get activeReaders(): number {
    return this.readers.size;
  }

  constructor(name: string, partitions = 1) {
    this.name = name;
    this.partitions = Array.from({ length: partitions }, () => []);
    this.starts = Array.from({ length: partitions }, () => 0);
  }

  append(partition: number, key: string | Buffer | null, value: Buffer | null, timestamp = Date.now()): number {
    const records = this.partitions[partition];
    if (!records) throw new Error(`no partition ${String(partition)}`);
    const offset = this.end(partition);
    records.push(FetchedRecord.of({ offset, timestamp, key: typeof key === 'string' ? Buffer.from(key) : key, value }));
    this.wake();
    return offset;
  }

  end(partition: number): number {
    const records = this.partitions[partition] ?? [];
    const last = records[records.length - 1];
    return last ? last.offset + 1 : (this.starts[partition] ?? 0);
  }

  /** Deletes the topic and creates it again, empty, with a new topic id. */
  recreate(): void {
    this.topicId = randomUUID();
    this.partitions = this.partitions.map(() => []);
    this.starts = this.starts.map(() => 0);
    for (const reader of this.readers) reader.gone();
  }

  /** Removes records below `offset` (as retention or compaction would). */
  truncateBefore(partition: number, offset: number): void {
    this.partitions[partition] = (this.partitions[partition] ?? []).filter((r) => r.offset >= offset);
    this.starts[partition] = offset;
    this.wake();
  }

  wake(): void {
    for (const reader of this.readers) reader.wake();
  }

  async layout(topic: string): Promise<TopicLayout | undefined> {
    await Promise.resolve();
    if (!this.exists || topic !== this.name) return undefined;
    return {
      topic,
      topicId: this.topicId,
      partitions: this.partitions.map((_, partition) => ({ partition, leader: 1, inSync: [1] })),
      replicationFactor: 1,
    };
  }

  async offsets(): Promise<OffsetRange[]> {
    await Promise.resolve();
    if (this.failing !== undefined)
      throw new HotstateError('HOTSTATE_ERR_TRANSPORT_KAFKA', this.failing, { retriable: true });
    return this.partitions.map((_, partition) => ({
      partition,
      start: this.starts[partition] ?? 0,
      end: this.end(partition),
    }));
  }

  async topicConfigs(): Promise<Record<string, string>> {
    await Promise.resolve();
    return this.configs;
  }

  async topics(): Promise<string[]> {
    await Promise.resolve();
    return this.exists ? [this.name] : [];
  }

  createTopic(): Promise<void> {
    return Promise.reject(new Error('not used by the view'));
  }

  deleteTopic(): Promise<void> {
    return Promise.reject(new Error('not used by the view'));
  }

  read(layout: TopicLayout, positions: ReadonlyMap<number, number>, handler: ReadHandler): PartitionReader {
    const reader = new MemoryReader(this, layout.topicId, new Map(positions), handler, () =>
      this.readers.delete(reader),
    );
    this.readers.add(reader);
    return reader;
  }

  /** @internal for MemoryReader */
  recordsFrom(partition: number, position: number): { records: FetchedRecord[]; start: number } | 'out-of-range' {
    const start = this.starts[partition] ?? 0;
    if (position < start || position > this.end(partition)) return 'out-of-range';
    return { records: (this.partitions[partition] ?? []).filter((r) => r.offset >= position).slice(0, 100), start };
  }

  producer(): TransportProducer {
    throw new Error('not used by the view');
  }

  async close(): Promise<void> {
    await Promise.resolve();
  }
}

class MemoryReader implements PartitionReader {
  private readonly topic: MemoryTopic;
  private readonly topicId: string;
  private readonly positions: Map<number, number>;
  private readonly handler: ReadHandler;
  private readonly forget: () => void;
  private running = true;
  private wakeUp: (() => void) | undefined;
  private readonly loop: Promise<void>;
  private reportedFailure = false;

  constructor(
    topic: MemoryTopic,
    topicId: string,
    positions: Map<number, number>,
    handler: ReadHandler,
    forget: () => void,
  ) {
    this.topic = topic;
    this.topicId = topicId;
    this.positions = positions;
    this.handler = handler;
    this.forget = forget;
    this.loop = this.run();
  }

  wake(): void {
    this.wakeUp?.();
  }

  gone(): void {
    if (this.topic.topicId !== this.topicId && this.running) this.handler.problem({ kind: 'topic-gone' });
  }

  private async run(): Promise<void> {
    while (this.running) {
      let delivered = false;
      if (this.topic.failing !== undefined) {
        if (!this.reportedFailure)
          this.handler.problem({
            kind: 'unavailable',
            partitions: [...this.positions.keys()],
            detail: this.topic.failing,
          });
        this.reportedFailure = true;
      } else if (!this.topic.paused && this.topic.topicId === this.topicId) {
        if (this.reportedFailure) this.handler.recovered([...this.positions.keys()]);
        this.reportedFailure = false;
        for (const [partition, position] of this.positions) {
          if (this.topic.pausedPartitions.has(partition)) continue;
          const answer = this.topic.recordsFrom(partition, position);
          if (answer === 'out-of-range') {
            this.positions.delete(partition);
            this.handler.problem({ kind: 'out-of-range', partition, position });
            continue;
          }
          const last = answer.records[answer.records.length - 1];
          if (!last) continue;
          await this.handler.chunk({
            partition,
            records: answer.records,
            next: last.offset + 1,
            highWatermark: this.topic.end(partition),
            logStart: answer.start,
          });
          this.positions.set(partition, last.offset + 1);
          delivered = true;
        }
      }
      if (!delivered) {
        await new Promise<void>((resolve) => {
          this.wakeUp = resolve;
          setTimeout(resolve, 20);
        });
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    this.forget();
    await this.loop;
  }
}

/** Writer schemas by id, registered under subjects; `down` simulates a registry outage. */
export class MemorySchemas implements SchemaSource {
  down = false;
  private readonly texts = new Map<number, string>();
  private readonly subjects = new Map<string, Set<number>>();

  register(subject: string, id: number, schema: object): void {
    this.texts.set(id, JSON.stringify(schema));
    this.subjects.set(subject, new Set([...(this.subjects.get(subject) ?? []), id]));
  }

  private check(): void {
    if (this.down)
      throw new HotstateError('HOTSTATE_ERR_REGISTRY_UNAVAILABLE', 'schema registry unavailable (test)', {
        retriable: true,
      });
  }

  async schemaText(id: number): Promise<string | undefined> {
    await Promise.resolve();
    this.check();
    return this.texts.get(id);
  }

  async subjectIds(subject: string): Promise<Set<number>> {
    await Promise.resolve();
    this.check();
    return new Set(this.subjects.get(subject));
  }
}
