// A view's database transactions: once a record carries Debezium's transaction metadata, the transaction topic
// (`<connector>.transaction` unless named) is read beside the data topic, and the gate (core/transaction-gate.ts)
// holds each transaction's changes until all have arrived. Reading starts `lookbackMs` before the replay began:
// older changes are history the replay passes through, not something a reader waits on.
import { frameSchemaId, headerBytes } from '../codec/confluent-avro.ts';
import { HotstateError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ViewMetrics } from '../metrics.ts';
import { valueSubject } from '../registry.ts';
import { transactionEndOf } from '../sources/change-shape.ts';
import type { PartitionChunk, PartitionReader, Transport } from '../transport/transport.ts';
import { TransactionGate, type Released } from '../core/transaction-gate.ts';
import { WriterSchemas, type SchemaSource } from '../core/writer-schemas.ts';
import type { SchemaResolution } from './schema-resolution.ts';

export interface TransactionSettings {
  /** The transaction topic. @defaultValue `<connector>.transaction`, the connector named by the records' `source.name` */
  readonly topic?: string;
  /** How long a change without its END, or an END whose changes did not all come, is waited for. @defaultValue `30000` */
  readonly settleMs?: number;
  /** How far before the replay start the transaction topic is read from. @defaultValue `60000` */
  readonly lookbackMs?: number;
}

interface Context {
  readonly topic: string;
  readonly transport: Transport;
  readonly schemaSource: SchemaSource;
  readonly resolution: SchemaResolution;
  readonly log: Logger;
  readonly metrics: ViewMetrics | undefined;
  /** The transaction topic cannot be read: the view fails with the reason. */
  readonly fail: (reason: string) => void;
  /** New END events were read: what they complete can be applied. */
  readonly endsRead: () => void;
}

/** What `status().transactions` shows once a view applies whole transactions. */
export interface TransactionStatus {
  readonly topic: string;
  /** Records read but held until their transaction is complete, and the transactions they belong to. */
  readonly heldRecords: number;
  readonly waiting: number;
  /** Transactions applied whole, and torn (some changes never arrived), since the view started. */
  readonly complete: number;
  readonly torn: number;
}

export class ViewTransactions {
  private readonly settings: TransactionSettings | false;
  private readonly context: Context;
  gate: TransactionGate | undefined;
  private topic: string | undefined;
  private readonly counts = { complete: 0, torn: 0 };
  private reader: PartitionReader | undefined;
  private generation = 0;

  constructor(settings: TransactionSettings | false, context: Context) {
    this.settings = settings;
    this.context = context;
  }

  /** Called with the first records that carry transaction metadata (`connector` from their source): starts the gate. */
  begin(connector: string | undefined, replayStarted: number): TransactionGate | undefined {
    if (this.settings === false) return undefined;
    if (this.gate) return this.gate;
    const topic = this.settings.topic ?? (connector === undefined ? undefined : `${connector}.transaction`);
    if (topic === undefined) return undefined;
    this.topic = topic;
    const from = replayStarted - (this.settings.lookbackMs ?? 60_000);
    const gate = new TransactionGate(from, this.settings.settleMs ?? 30_000);
    this.gate = gate;
    void this.read(topic, gate, ++this.generation).catch((error: unknown) => {
      if (this.gate === gate) this.context.fail((error as Error).message);
    });
    return gate;
  }

  private async read(topic: string, gate: TransactionGate, generation: number): Promise<void> {
    const { transport, log } = this.context;
    const layout = await transport.layout(topic);
    const hint = `name it with the view option transactions: { topic }, or turn atomic transactions off with transactions: false`;
    if (!layout)
      throw new HotstateError(
        'HOTSTATE_ERR_RESOURCE_NOT_FOUND',
        `records of ${this.context.topic} carry Debezium transaction metadata, but the transaction topic ${topic} does not exist: ${hint}`,
      );
    if (layout.partitions.length !== 1)
      throw new HotstateError(
        'HOTSTATE_ERR_CONFIG_INVALID',
        `the transaction topic ${topic} has ${String(layout.partitions.length)} partitions: commit order needs exactly 1 (as \`hotstate cdc add\` creates it); ${hint}`,
      );
    const [ends, at] = await Promise.all([
      transport.offsets(topic),
      transport.offsetsAt?.(topic, gate.from) ?? Promise.resolve(undefined),
    ]);
    const positions = new Map(ends.map((p) => [p.partition, at?.get(p.partition) ?? p.start]));
    gate.endsCaughtUp = ends.every((p) => (positions.get(p.partition) ?? 0) >= p.end);
    if (generation !== this.generation) return;
    const schemas = new WriterSchemas(this.context.schemaSource, valueSubject(topic));
    log.info(
      { transactionTopic: topic, from: new Date(gate.from).toISOString() },
      'applying whole database transactions',
    );
    this.reader = transport.read(layout, positions, {
      chunk: (chunk) => (generation === this.generation ? this.onChunk(chunk, gate, schemas) : undefined),
      problem: (problem) => {
        if (problem.kind === 'refused') this.context.fail(`${problem.error.code}: ${problem.error.message}`);
        else log.warn({ transactionTopic: topic, problem }, 'reading the transaction topic is held up');
      },
      recovered: () => undefined,
    });
  }

  private async onChunk(chunk: PartitionChunk, gate: TransactionGate, schemas: WriterSchemas): Promise<void> {
    const framed = chunk.records.filter((r) => r.valueLength > headerBytes && r.bytes[r.valueAt] === 0);
    await this.context.resolution.settle([...new Set(framed.map((r) => frameSchemaId(r.bytes, r.valueAt)))], schemas);
    for (const record of framed) {
      const verdict = schemas.verdict(frameSchemaId(record.bytes, record.valueAt));
      if (!verdict?.ok) continue;
      try {
        const body = record.bytes.subarray(record.valueAt + headerBytes, record.valueAt + record.valueLength);
        const end = transactionEndOf(verdict.schema.type.fromBuffer(body));
        if (end) gate.end(end, record.timestamp);
      } catch (error) {
        this.context.log.warn({ err: error, offset: record.offset }, 'a transaction topic record does not decode');
      }
    }
    gate.endsCaughtUp = chunk.next >= chunk.highWatermark;
    this.context.endsRead();
  }

  /** What the gate lets through now (see TransactionGate.release), counted in the metrics. */
  release(gate: TransactionGate, partitions: readonly number[], readToEnd: (partition: number) => boolean): Released {
    const released = gate.release(Date.now(), partitions, readToEnd);
    this.counts.complete += released.complete;
    this.counts.torn += released.torn.length;
    const { metrics, topic, log } = this.context;
    if (released.complete > 0) metrics?.transactions.inc({ topic, outcome: 'complete' }, released.complete);
    if (released.torn.length > 0) {
      metrics?.transactions.inc({ topic, outcome: 'torn' }, released.torn.length);
      for (const torn of released.torn.slice(0, 5))
        log.warn({ transaction: torn.id }, `a database transaction applied torn: ${torn.detail}`);
    }
    metrics?.transactionHeldRecords.set({ topic }, gate.heldRecords);
    return released;
  }

  status(): TransactionStatus | undefined {
    const { gate, topic } = this;
    if (!gate || topic === undefined) return undefined;
    return { topic, heldRecords: gate.heldRecords, waiting: gate.waitingTransactions, ...this.counts };
  }

  /** Stops reading the transaction topic and forgets what was held (a rebuild, or close). */
  async stop(): Promise<void> {
    this.generation++;
    this.gate = undefined;
    const reader = this.reader;
    this.reader = undefined;
    this.context.metrics?.transactionHeldRecords.set({ topic: this.context.topic }, 0);
    await reader?.stop();
  }
}
