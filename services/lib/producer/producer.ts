// The producer library: validates, encodes and sends upserts and deletes to one dataset topic, and returns the
// version each acknowledged write created. Concurrent calls are batched into one produce request (idempotence
// allows only one request in flight), so many small writers still get high throughput.
import { performance } from 'node:perf_hooks';
import type { Type } from 'avsc';
import { HotstateError, ValidationError, type ErrorCode, type Problem } from '../errors.ts';
import { assertSafeTopic, describeTopic } from '../kafka/topics.ts';
import { createPlatformaticTransport } from '../transport/platformatic/platformatic-transport.ts';
import type { RecordOutcome, Transport, TransportProducer } from '../transport/transport.ts';
import { parseAvroSchema } from '../codec/confluent-avro.ts';
import { producerMetrics, type ProducerMetrics } from '../metrics.ts';
import {
  latestSchema,
  lookupSchemaId,
  probeRegistry,
  registerValueSchema,
  registryBaseUrl,
  valueSubject,
} from '../registry.ts';
import { formatVersionToken, writeVersion, type VersionVector } from '../version-token.ts';
import { producerSettings, type ProducerOptions, type ProducerSettings } from './producer-options.ts';
import {
  prepareUpdate,
  type PrepareContext,
  type Prepared,
  type PreparedRecord,
  type Update,
  type WriteHeaders,
} from './prepare.ts';

export type { ProducerOptions } from './producer-options.ts';

export interface WriteResult {
  readonly key: string;
  readonly operation: 'upsert' | 'delete';
  readonly partition: number;
  readonly offset: number;
  readonly version: VersionVector;
  /** Pass to a view's `waitFor` (or a state service's `minVersion`) to read this write. */
  readonly token: string;
}

export interface BatchResult {
  readonly results: readonly WriteResult[];
  /** Covers every write of the batch. */
  readonly token: string;
}

/** Bytes per produce request, and the value cap, unless the options or the topic's max.message.bytes say less. */
const defaultRequestBytes = 1_000_000;
/** Room left in a topic's max.message.bytes for a record batch's header, a record's framing, its key and headers. */
const framingBytes = 2048;

/** A record's share of a produce request: key, value and headers, plus Kafka's per-record framing (varints). */
const recordBytes = (r: PreparedRecord): number =>
  r.keyBytes.length +
  (r.value?.length ?? 0) +
  Object.entries(r.headers).reduce((sum, [k, v]) => sum + k.length + v.length + 10, 0) +
  20;

interface Pending {
  readonly records: readonly PreparedRecord[];
  readonly resolve: (results: WriteResult[]) => void;
  readonly reject: (error: unknown) => void;
}

export class HotstateProducer {
  readonly topic: string;
  private readonly options: ProducerSettings;
  private readonly transport: Transport;
  private readonly ownsTransport: boolean;
  private readonly producer: TransportProducer;
  private readonly metrics: ProducerMetrics | undefined;
  private context: PrepareContext | undefined;
  /** Bytes per produce request: the option, or what the topic accepts (set by connect). */
  private maxBatchBytes = defaultRequestBytes;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;

  constructor(options: ProducerOptions) {
    this.options = producerSettings(options);
    this.topic = options.topic;
    this.ownsTransport = options.transport === undefined;
    this.transport =
      options.transport ?? createPlatformaticTransport({ clientId: 'hotstate-producer', ...options.kafka });
    this.producer = this.transport.producer();
    this.metrics = options.metrics ? producerMetrics(options.metrics) : undefined;
  }

  /** Resolves the schema id, checks the topic is a safe dataset topic, connects. */
  async connect(): Promise<void> {
    const { topic } = this;
    const registryUrl = this.options.registryUrl;
    registryBaseUrl(registryUrl); // a malformed URL fails here, before anything else
    // The topic and the registry's URL first: a missing or unsafe topic, or a misaddressed registry, is named as
    // such (not as "no schema is registered"), and nothing is registered for a topic that is refused.
    const [description] = await Promise.all([describeTopic(this.transport, topic), probeRegistry(registryUrl)]);
    assertSafeTopic(topic, description);
    const subject = valueSubject(topic);
    let schemaText: string;
    let schemaId: number;
    if (this.options.schema === undefined) {
      const latest = await latestSchema(registryUrl, subject);
      if (!latest)
        throw new HotstateError(
          'HOTSTATE_ERR_REGISTRY_SCHEMA_NOT_FOUND',
          `no schema is registered under ${subject}; register one (hotstate schemas register) or pass a schema`,
        );
      schemaText = latest.schema;
      schemaId = latest.id;
    } else {
      schemaText = typeof this.options.schema === 'string' ? this.options.schema : JSON.stringify(this.options.schema);
      schemaId = this.options.registerSchema
        ? await registerValueSchema(registryUrl, topic, schemaText)
        : await lookupSchemaId(registryUrl, subject, schemaText);
    }
    // Unless told otherwise, values and requests stay within what the topic accepts in one batch (less room for a
    // batch's and a record's own framing), so a topic with a smaller max.message.bytes refuses nothing we send.
    const topicLimit = Number(description.configs['max.message.bytes'] ?? Number.NaN);
    const withinTopic =
      Number.isSafeInteger(topicLimit) && topicLimit > framingBytes
        ? Math.min(defaultRequestBytes, topicLimit - framingBytes)
        : defaultRequestBytes;
    this.maxBatchBytes = this.options.maxBatchBytes ?? withinTopic;
    this.context = {
      type: parseAvroSchema(schemaText),
      schemaId,
      partitions: description.partitions,
      maxKeyBytes: this.options.maxKeyBytes,
      maxValueBytes: this.options.maxValueBytes ?? withinTopic,
      defaultHeaders: this.options.headers,
    };
  }

  get schemaId(): number {
    return this.ready().schemaId;
  }

  get schemaType(): Type {
    return this.ready().type;
  }

  upsert(key: string, value: object, headers?: WriteHeaders): Promise<WriteResult> {
    return this.one({ key, value, ...(headers ? { headers } : {}) });
  }

  delete(key: string, headers?: WriteHeaders): Promise<WriteResult> {
    return this.one({ key, value: null, ...(headers ? { headers } : {}) });
  }

  /** Validates every update first: when any is bad, throws a ValidationError listing them all and sends nothing. */
  async send(updates: readonly Update[]): Promise<BatchResult> {
    const records = this.prepareAll(updates);
    const results = await this.enqueue(records);
    return { results, token: tokenOf(this.topic, results) };
  }

  /** One update as it would be sent, or its problems (`at` labels them, e.g. with a line number). */
  prepare(update: Update, at?: number): Prepared {
    return prepareUpdate(update, this.ready(), at);
  }

  /** The records exactly as they would be sent, or a ValidationError listing every problem. */
  prepareAll(updates: readonly Update[]): PreparedRecord[] {
    const problems: Problem[] = [];
    const records: PreparedRecord[] = [];
    updates.forEach((update, i) => {
      const prepared = this.prepare(update, updates.length > 1 ? i : undefined);
      if (prepared.ok) records.push(prepared.record);
      else problems.push(...prepared.problems);
    });
    if (problems.length > 0) {
      const code = codeFor(problems);
      this.countError(code, problems.length);
      throw new ValidationError(
        code,
        problems,
        updates.length === 1 ? 'update' : `batch of ${String(updates.length)} updates`,
      );
    }
    return records;
  }

  /** Sends records produced by prepareAll (for callers that validate a whole input before sending). */
  async sendPrepared(records: readonly PreparedRecord[]): Promise<BatchResult> {
    const results = await this.enqueue(records);
    return { results, token: tokenOf(this.topic, results) };
  }

  /** Waits for queued writes, then disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flushing;
    await this.producer.close();
    if (this.ownsTransport) await this.transport.close();
  }

  private async one(update: Update): Promise<WriteResult> {
    const [result] = await this.enqueue(this.prepareAll([update]));
    if (!result) throw new Error('internal: no result for a single write');
    return result;
  }

  private ready(): PrepareContext {
    if (this.closed) throw new HotstateError('HOTSTATE_ERR_LIFECYCLE_CLOSED', `producer for ${this.topic} is closed`);
    if (!this.context)
      throw new HotstateError(
        'HOTSTATE_ERR_LIFECYCLE_NOT_STARTED',
        `producer for ${this.topic} is not connected; call connect() first`,
      );
    return this.context;
  }

  private enqueue(records: readonly PreparedRecord[]): Promise<WriteResult[]> {
    if (this.closed)
      return Promise.reject(new HotstateError('HOTSTATE_ERR_LIFECYCLE_CLOSED', `producer for ${this.topic} is closed`));
    if (records.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      this.flushing ??= this.flush().finally(() => {
        this.flushing = undefined;
      });
    });
  }

  /** Sends queued writes until the queue is empty, in requests of at most maxBatchRecords records and maxBatchBytes
   *  bytes: calls share a request, and a large call is cut into several (the broker refuses a partition's batch above
   *  its max.message.bytes). A call resolves once all its records are acknowledged, or rejects with its worst error. */
  private async flush(): Promise<void> {
    await Promise.resolve(); // let writes issued in the same tick join this request
    const maxRecords = this.options.maxBatchRecords;
    const maxBytes = this.maxBatchBytes;
    const calls = new Map<Pending, Array<WriteResult | HotstateError>>();
    let first = 0; // the next record of the queue's first call
    const settle = (pending: Pending, outcomes: Array<WriteResult | HotstateError>): void => {
      this.queue.shift();
      first = 0;
      calls.delete(pending);
      // A call is acknowledged only when all its records are; otherwise it gets the worst of its errors.
      const failures = outcomes.filter((o) => o instanceof HotstateError);
      if (failures.length === 0) pending.resolve(outcomes as WriteResult[]);
      else pending.reject(failures.find((e) => e.code !== 'HOTSTATE_ERR_TRANSPORT_KAFKA') ?? failures[0]);
    };
    while (this.queue.length > 0) {
      const head = this.queue[0];
      const sofar = head && calls.get(head);
      if (head && sofar?.some((o) => o instanceof HotstateError)) {
        settle(head, sofar); // a call cut in parts stops at its first failed part: the rest is not sent
        continue;
      }
      const request: Array<{ pending: Pending; from: number; to: number }> = [];
      let records = 0;
      let bytes = 0;
      for (const pending of this.queue) {
        let to = pending === this.queue[0] ? first : 0;
        const from = to;
        for (; to < pending.records.length && records < maxRecords; to++) {
          const size = recordBytes(pending.records[to] as PreparedRecord);
          if (records > 0 && bytes + size > maxBytes) break;
          records++;
          bytes += size;
        }
        if (to > from) request.push({ pending, from, to });
        if (to < pending.records.length) break;
      }
      let outcomes: Array<WriteResult | HotstateError>;
      try {
        outcomes = await this.produce(request.flatMap(({ pending, from, to }) => pending.records.slice(from, to)));
      } catch (error) {
        outcomes = request.flatMap(({ from, to }) => Array<HotstateError>(to - from).fill(error as HotstateError));
      }
      let at = 0;
      for (const { pending, from, to } of request) {
        const mine = calls.get(pending) ?? [];
        calls.set(pending, mine);
        for (const outcome of outcomes.slice(at, at + to - from)) mine.push(outcome);
        at += to - from;
        if (to < pending.records.length) {
          first = to; // the rest of this call goes in the next request
          break;
        }
        settle(pending, mine);
      }
    }
  }

  /** One produce request: per record, its acknowledged write or the error that says what became of it. */
  private async produce(records: readonly PreparedRecord[]): Promise<Array<WriteResult | HotstateError>> {
    const { topic } = this;
    const began = performance.now();
    let outcomes: RecordOutcome[];
    try {
      // The transport answers within sendTimeoutMs, whatever Kafka does: no send is ever left running beside the next.
      outcomes = await this.producer.send(
        topic,
        records.map((r) => ({ key: r.keyBytes, value: r.value, partition: r.partition, headers: r.headers })),
        { timeoutMs: this.options.sendTimeoutMs },
      );
    } catch (error) {
      const converted =
        error instanceof HotstateError
          ? error
          : new HotstateError(
              'HOTSTATE_ERR_TRANSPORT_UNCERTAIN',
              `sending ${String(records.length)} record(s) to ${topic} failed: ${(error as Error).message}`,
              { cause: error, retriable: true },
            );
      this.countError(converted.code, records.length);
      throw converted;
    }
    this.metrics?.sendDuration.observe({ topic }, (performance.now() - began) / 1000);
    this.metrics?.batchRecords.observe({ topic }, records.length);
    const counts = { delete: 0, upsert: 0 };
    const results = records.map((r, i): WriteResult | HotstateError => {
      const outcome = outcomes[i];
      if (outcome === undefined) throw new Error('internal: the transport returned fewer outcomes than records');
      if (!outcome.ok) {
        this.countError(outcome.error.code, 1);
        return outcome.error;
      }
      const operation = r.value === null ? 'delete' : 'upsert';
      counts[operation]++;
      return new Write(topic, r.key, operation, r.partition, outcome.offset);
    });
    for (const operation of ['delete', 'upsert'] as const)
      if (counts[operation] > 0) this.metrics?.records.inc({ topic, operation }, counts[operation]);
    return results;
  }

  private countError(code: ErrorCode, n: number): void {
    this.metrics?.errors.inc({ topic: this.topic, code }, n);
  }
}

function codeFor(problems: readonly Problem[]): ErrorCode {
  if (problems.every((p) => p.kind === 'key')) return 'HOTSTATE_ERR_VALIDATION_KEY';
  if (problems.every((p) => p.kind === 'size')) return 'HOTSTATE_ERR_VALIDATION_SIZE';
  return 'HOTSTATE_ERR_VALIDATION_VALUE';
}

/** An acknowledged write; its version and token are built only when asked for (cheap in large batches). */
class Write implements WriteResult {
  readonly topic: string;
  readonly key: string;
  readonly operation: 'upsert' | 'delete';
  readonly partition: number;
  readonly offset: number;

  constructor(topic: string, key: string, operation: 'upsert' | 'delete', partition: number, offset: number) {
    this.topic = topic;
    this.key = key;
    this.operation = operation;
    this.partition = partition;
    this.offset = offset;
  }

  get version(): VersionVector {
    return writeVersion(this.topic, this.partition, this.offset);
  }

  get token(): string {
    return formatVersionToken(this.version);
  }
}

function tokenOf(topic: string, results: readonly WriteResult[]): string {
  const positions = new Map<number, number>();
  for (const r of results) positions.set(r.partition, Math.max(r.offset + 1, positions.get(r.partition) ?? 0));
  return formatVersionToken({ topic, positions });
}

/** Creates and connects a producer. */
export async function createProducer(options: ProducerOptions): Promise<HotstateProducer> {
  const producer = new HotstateProducer(options);
  try {
    await producer.connect();
  } catch (error) {
    await producer.close(); // its clients hold sockets that would keep the process alive
    throw error;
  }
  return producer;
}
