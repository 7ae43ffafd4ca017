// The transport seam: everything hotstate needs from Kafka, in hotstate's own types. Only the modules in this
// folder know a Kafka client library; the view and the producer see these interfaces and nothing else.
import type { HotstateError } from '../errors.ts';
import type { Logger } from '../logger.ts';

export interface KafkaConnection {
  /** `host:port` pairs. */
  readonly brokers: readonly string[];
  /** @defaultValue `hotstate` */
  readonly clientId?: string;
  /** @defaultValue `10000` */
  readonly connectionTimeoutMs?: number;
  /** @defaultValue `30000` */
  readonly requestTimeoutMs?: number;
  /** Receives the client's own warnings. @defaultValue a `hotstate` pino logger at `warn` */
  readonly logger?: Logger;
  /** TLS to the brokers (`SSL` / `SASL_SSL`); hostnames are always verified. @defaultValue plaintext */
  readonly tls?: KafkaTls;
  /** SASL authentication (`SASL_PLAINTEXT` / `SASL_SSL`). @defaultValue none */
  readonly sasl?: KafkaSasl;
}

export interface TopicAcl {
  /** READ, WRITE, DESCRIBE, DESCRIBE_CONFIGS, ALL, ... */
  readonly operation: string;
  readonly permission: 'ALLOW' | 'DENY';
  /** The pattern that matched: the topic, `*`, or a prefix (`prefix*`). */
  readonly pattern: string;
}

export interface KafkaTls {
  /** PEM certificates to trust instead of the system's (a private CA). */
  readonly ca?: string | Buffer;
  /** PEM client certificate and key, for brokers that require them (mutual TLS). */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
}

export interface KafkaSasl {
  readonly mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  readonly username: string;
  /** A function is called on every (re)authentication: a rotated secret file is picked up without a restart. */
  readonly password: string | (() => string);
}

export interface PartitionLayout {
  readonly partition: number;
  /** Node id of the leader, or -1 while there is none. */
  readonly leader: number;
  /** Node ids of the in-sync replicas. */
  readonly inSync: readonly number[];
}

export interface TopicLayout {
  readonly topic: string;
  /** The broker's topic id: a recreated topic has a new one. */
  readonly topicId: string;
  readonly partitions: readonly PartitionLayout[];
  readonly replicationFactor: number;
}

export interface OffsetRange {
  readonly partition: number;
  /** Log start offset. */
  readonly start: number;
  /** Next offset to be written (last stable offset for committed reads). */
  readonly end: number;
}

type RecordHeaders = ReadonlyArray<readonly [Buffer | null, Buffer | null]>;

/**
 * One record as fetched: offsets and timestamps as numbers (both stay below 2^53 in practice). Its key and value lie
 * in `bytes` (the fetched batch, shared by its records) at the positions given; `key` and `value` make views of them
 * when asked, so that a replay, which reads the positions, makes no object per key or value.
 */
export class FetchedRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly bytes: Buffer;
  /** Where the key starts in `bytes`, and its length (-1: no key). */
  readonly keyAt: number;
  readonly keyLength: number;
  /** Where the value starts in `bytes`, and its length (-1: a tombstone). */
  readonly valueAt: number;
  readonly valueLength: number;
  /** Record headers as the log holds them (names and values as bytes). */
  readonly headers: RecordHeaders | undefined;
  /** The key as the log holds it, when `bytes` hold its text instead (an Avro key): partition rules hash these. */
  readonly logKey: Buffer | undefined;

  constructor(
    offset: number,
    timestamp: number,
    bytes: Buffer,
    keyAt: number,
    keyLength: number,
    valueAt: number,
    valueLength: number,
    headers?: RecordHeaders,
    logKey?: Buffer,
  ) {
    this.offset = offset;
    this.timestamp = timestamp;
    this.bytes = bytes;
    this.keyAt = keyAt;
    this.keyLength = keyLength;
    this.valueAt = valueAt;
    this.valueLength = valueLength;
    this.headers = headers;
    this.logKey = logKey;
  }

  /** A record of a key and a value given apart (they are copied into one buffer). */
  static of(record: {
    offset: number;
    timestamp: number;
    key: Buffer | null;
    value: Buffer | null;
    headers?: RecordHeaders;
  }): FetchedRecord {
    const { key, value } = record;
    const bytes = Buffer.concat([key ?? Buffer.alloc(0), value ?? Buffer.alloc(0)]);
    const keyLength = key === null ? -1 : key.length;
    return new FetchedRecord(
      record.offset,
      record.timestamp,
      bytes,
      0,
      keyLength,
      Math.max(0, keyLength),
      value === null ? -1 : value.length,
      record.headers,
    );
  }

  get key(): Buffer | null {
    return this.keyLength < 0 ? null : this.bytes.subarray(this.keyAt, this.keyAt + this.keyLength);
  }

  /** The key bytes Kafka's partitioner hashed: the log's own key. */
  get partitionKey(): Buffer | null {
    return this.logKey ?? this.key;
  }

  get value(): Buffer | null {
    return this.valueLength < 0 ? null : this.bytes.subarray(this.valueAt, this.valueAt + this.valueLength);
  }
}

/** Records of one partition from one fetch, in offset order; `next` is where the following fetch starts. */
export interface PartitionChunk {
  readonly partition: number;
  readonly records: readonly FetchedRecord[];
  readonly next: number;
  readonly highWatermark: number;
  readonly logStart: number;
}

export type ReadProblem =
  /** The position is outside the partition's log (truncated, or deleted by retention or compaction). */
  | { readonly kind: 'out-of-range'; readonly partition: number; readonly position: number }
  /** The topic (id) the reader started on is gone. */
  | { readonly kind: 'topic-gone' }
  /** Fetching fails for now (no leader, broker down); the reader keeps retrying by itself. */
  | { readonly kind: 'unavailable'; readonly partitions: readonly number[]; readonly detail: string }
  /** Kafka refused the credentials, the TLS handshake or an ACL: retrying cannot help, the reader stopped. */
  | { readonly kind: 'refused'; readonly error: HotstateError };

export interface ReadHandler {
  /** Called for one chunk at a time, never concurrently; the reader waits for the returned promise. */
  chunk(chunk: PartitionChunk): void | Promise<void>;
  problem(problem: ReadProblem): void;
  /** Fetching works again for these partitions after an `unavailable` problem. */
  recovered(partitions: readonly number[]): void;
}

/** A running read of every partition of a topic by manual assignment (no consumer group). */
export interface PartitionReader {
  /** Stops fetching; resolves once no chunk is being handled. */
  stop(): Promise<void>;
}

export interface ProduceRecord {
  readonly partition: number;
  readonly key: Buffer;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What became of one record: its offset, or an error saying it was not written or its outcome is unknown. */
export type RecordOutcome =
  { readonly ok: true; readonly offset: number } | { readonly ok: false; readonly error: HotstateError };

export interface SendOptions {
  /** The send answers within this time; records not acknowledged by then get an error. @defaultValue `30000` */
  readonly timeoutMs?: number;
}

export interface TransportProducer {
  /**
   * Writes the records with acks=all, idempotently, retrying what failed. Resolves with each record's outcome, in
   * input order: an offset only from a checked answer for its partition, otherwise `HOTSTATE_ERR_TRANSPORT_KAFKA`
   * (certainly not written) or `HOTSTATE_ERR_TRANSPORT_UNCERTAIN` (may have been written). Never rejects for a
   * Kafka failure: records of partitions whose leader answered are acknowledged even when others failed.
   */
  send(topic: string, records: readonly ProduceRecord[], options?: SendOptions): Promise<RecordOutcome[]>;
  close(): Promise<void>;
}

export interface TopicCreation {
  readonly topic: string;
  readonly partitions: number;
  readonly replicationFactor?: number;
  readonly configs: Readonly<Record<string, string>>;
}

export interface Transport {
  /** Partitions and leaders, from fresh metadata; undefined when the topic does not exist. */
  layout(topic: string): Promise<TopicLayout | undefined>;
  /**
   * Start and end offsets of every partition. With `patienceMs`, failures (a leader that just died, an election
   * under way) are retried from fresh metadata for that long before the last one is thrown.
   */
  offsets(topic: string, options?: { readonly patienceMs?: number }): Promise<OffsetRange[]>;
  /** Per partition, the first offset whose record was written at or after `timestamp` (the end offset if none). */
  offsetsAt?(topic: string, timestamp: number): Promise<Map<number, number>>;
  /** The topic's effective configuration. */
  topicConfigs(topic: string): Promise<Record<string, string>>;
  topics(): Promise<string[]>;
  /** The ACLs on the topic (literal, `*` and matching prefixes) for a principal such as `User:name`; needs the right to describe ACLs. */
  topicAcls?(topic: string, principal: string): Promise<TopicAcl[]>;
  createTopic(creation: TopicCreation): Promise<void>;
  deleteTopic(topic: string): Promise<void>;
  /** Reads every partition from `positions` on, following leader changes, until stopped. */
  read(layout: TopicLayout, positions: ReadonlyMap<number, number>, handler: ReadHandler): PartitionReader;
  producer(): TransportProducer;
  close(): Promise<void>;
}
