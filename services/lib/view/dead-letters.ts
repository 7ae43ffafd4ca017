// Writes poison records to the dead-letter topic with their original bytes and the reason in headers.
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

export class DeadLetterWriter {
  private readonly sourceTopic: string;
  private readonly topic: string;
  private readonly partitions: number;
  private readonly producer: TransportProducer;

  private constructor(sourceTopic: string, topic: string, partitions: number, producer: TransportProducer) {
    this.sourceTopic = sourceTopic;
    this.topic = topic;
    this.partitions = partitions;
    this.producer = producer;
  }

  /** Refuses to start without the dead-letter topic: letters that cannot be written would stop the view. */
  static async open(transport: Transport, sourceTopic: string, topic: string): Promise<DeadLetterWriter> {
    const layout = await transport.layout(topic);
    if (!layout) throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', `dead-letter topic ${topic} does not exist; create it (hotstate topics ensure ${topic}) or choose another poison policy`);
    return new DeadLetterWriter(sourceTopic, topic, layout.partitions.length, transport.producer());
  }

  /** Throws the first failure: the caller must not move past poison that was not dead-lettered. */
  async write(letters: readonly DeadLetter[]): Promise<void> {
    const outcomes = await this.producer.send(this.topic, letters.map((letter) => {
      // A compacted topic refuses records without a key: a keyless record gets its source position as key.
      const key = letter.key ?? Buffer.from(`${this.sourceTopic}/${String(letter.partition)}/${String(letter.offset)}`);
      return {
        partition: partitionForKey(key, this.partitions),
        key,
        value: letter.value,
        headers: {
          'hotstate-error': `${letter.reason}: ${letter.detail}`,
          'hotstate-source-topic': this.sourceTopic,
          'hotstate-source-partition': String(letter.partition),
          'hotstate-source-offset': String(letter.offset),
        },
      };
    }));
    for (const outcome of outcomes) if (!outcome.ok) throw outcome.error;
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}
