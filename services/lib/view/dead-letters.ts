// Writes poison records to the dead-letter topic with their original bytes and the reason in headers. Every poison
// record can be dead-lettered: a record without a key gets its source position as key (the raw key stays as Kafka
// sent it otherwise, UTF-8 or not), and a value too large for the dead-letter topic is cut to its first bytes with
// its original size and SHA-256 in headers.
import { createHash } from 'node:crypto';
import { HotstateError } from '../errors.ts';
import { partitionForKey } from '../kafka/murmur2.ts';
import type { Transport, TransportProducer } from '../transport/transport.ts';

export interface DeadLetter {
  readonly partition: number;
  readonly offset: number;
  /** The record's key bytes as fetched (null when it had none). */
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly reason: string;
  readonly detail: string;
}

/** How a dead-letter topic is created when the view may create it. */
export const deadLetterTopicConfigs = {
  'cleanup.policy': 'delete',
  'retention.ms': String(14 * 24 * 3600 * 1000),
} as const;

/** Bytes kept of a value that is too large for the dead-letter topic (enough to see its frame and first fields). */
const truncatedValueBytes = 1024;
/** Room left in a dead-letter record for its key, headers and the batch framing. */
const recordOverheadBytes = 16 * 1024;

export class DeadLetterWriter {
  private readonly sourceTopic: string;
  private readonly topic: string;
  private readonly partitions: number;
  private readonly maxValueBytes: number;
  private readonly producer: TransportProducer;

  private constructor(
    sourceTopic: string,
    topic: string,
    partitions: number,
    maxValueBytes: number,
    producer: TransportProducer,
  ) {
    this.sourceTopic = sourceTopic;
    this.topic = topic;
    this.partitions = partitions;
    this.maxValueBytes = maxValueBytes;
    this.producer = producer;
  }

  /**
   * Checks the dead-letter topic before the view starts: letters that could not be written would stop the view.
   * A missing topic is created (with `deadLetterTopicConfigs`, the source topic's partition count and replication)
   * when `create` is set, and is a start-up error otherwise.
   */
  static async open(
    transport: Transport,
    sourceTopic: string,
    topic: string,
    create: boolean,
  ): Promise<DeadLetterWriter> {
    let layout = await transport.layout(topic);
    if (!layout && create) {
      const source = await transport.layout(sourceTopic);
      if (!source) throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', `topic ${sourceTopic} does not exist`);
      await transport.createTopic({
        topic,
        partitions: source.partitions.length,
        replicationFactor: source.replicationFactor,
        configs: deadLetterTopicConfigs,
      });
      layout = await transport.layout(topic);
    }
    if (!layout)
      throw new HotstateError(
        'HOTSTATE_ERR_CONFIG_INVALID',
        `dead-letter topic ${topic} does not exist; create it (kafka-topics --create --topic ${topic} --config cleanup.policy=delete), let the view create it (createDeadLetterTopic) or choose another poison policy`,
      );
    const configs = await transport.topicConfigs(topic);
    const maxMessageBytes = Number(configs['max.message.bytes'] ?? 1_048_588);
    return new DeadLetterWriter(
      sourceTopic,
      topic,
      layout.partitions.length,
      Math.max(truncatedValueBytes, maxMessageBytes - recordOverheadBytes),
      transport.producer(),
    );
  }

  /** Throws the first failure: the caller must not move past poison that was not dead-lettered. */
  async write(letters: readonly DeadLetter[]): Promise<void> {
    const outcomes = await this.producer.send(
      this.topic,
      letters.map((letter) => {
        const headers: Record<string, string> = {
          'hotstate-error': `${letter.reason}: ${letter.detail}`,
          'hotstate-source-topic': this.sourceTopic,
          'hotstate-source-partition': String(letter.partition),
          'hotstate-source-offset': String(letter.offset),
        };
        // A compacted topic refuses records without a key, so a keyless record gets its source position as key.
        const key =
          letter.key ?? Buffer.from(`${this.sourceTopic}/${String(letter.partition)}/${String(letter.offset)}`);
        if (letter.key === null) headers['hotstate-key-missing'] = 'true';
        let value = letter.value;
        if (value !== null && value.length > this.maxValueBytes) {
          headers['hotstate-value-truncated'] = 'true';
          headers['hotstate-original-value-bytes'] = String(value.length);
          headers['hotstate-original-value-sha256'] = createHash('sha256').update(value).digest('hex');
          value = value.subarray(0, truncatedValueBytes);
        }
        return { partition: partitionForKey(key, this.partitions), key, value, headers };
      }),
    );
    for (const outcome of outcomes) if (!outcome.ok) throw outcome.error;
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}
