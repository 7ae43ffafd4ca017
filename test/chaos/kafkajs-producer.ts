// kafkajs 2.2.4 behind hotstate's producer seam, hardened as far as its API allows, so the chaos suite can measure
// it against the default transport (`npm run chaos -- --producer kafkajs`): idempotent, acks=-1, one request in
// flight; every partition of every answer checked; after any failed send the kafkajs producer is thrown away and a
// new one (new producer id) is made, so no sequence state outlives an uncertain request. kafkajs errors do not say
// whether a request reached the broker, so every failure is "outcome unknown".
import type { Producer } from 'kafkajs';
import { HotstateError } from '../../services/lib/errors.ts';
import type {
  ProduceRecord,
  RecordOutcome,
  SendOptions,
  Transport,
  TransportProducer,
} from '../../services/lib/transport/transport.ts';
import { createKafka, createSafeProducer } from '../helpers/kafkajs-client.ts';

class KafkajsProducer implements TransportProducer {
  private readonly brokers: readonly string[];
  private producer: Promise<Producer> | undefined;

  constructor(brokers: readonly string[]) {
    this.brokers = brokers;
  }

  private connected(): Promise<Producer> {
    this.producer ??= (async () => {
      const producer = createSafeProducer(createKafka({ brokers: this.brokers, clientId: 'hotstate-chaos-kafkajs' }));
      await producer.connect();
      return producer;
    })();
    return this.producer;
  }

  async send(topic: string, records: readonly ProduceRecord[], options: SendOptions = {}): Promise<RecordOutcome[]> {
    const uncertain = (detail: string, cause?: unknown): RecordOutcome[] =>
      records.map(() => ({
        ok: false,
        error: new HotstateError('HOTSTATE_ERR_TRANSPORT_UNCERTAIN', `kafkajs: ${detail}`, { cause, retriable: true }),
      }));
    let answer;
    try {
      const producer = await this.connected();
      answer = await producer.send({
        topic,
        acks: -1,
        timeout: options.timeoutMs ?? 30_000,
        messages: records.map((r) => ({
          partition: r.partition,
          key: r.key,
          value: r.value,
          ...(r.headers ? { headers: { ...r.headers } } : {}),
        })),
      });
    } catch (error) {
      // A fresh producer (new producer id) for the next send: never reuse sequence numbers after a failure.
      const old = this.producer;
      this.producer = undefined;
      void old?.then((p) => p.disconnect()).catch(() => undefined);
      return uncertain((error as Error).message, error);
    }
    const base = new Map<number, number>();
    for (const { partition, baseOffset, errorCode } of answer) {
      const offset = Number(baseOffset);
      if (errorCode !== 0 || base.has(partition) || !Number.isInteger(offset) || offset < 0)
        return uncertain(`malformed answer for partition ${String(partition)}`);
      base.set(partition, offset);
    }
    const next = new Map<number, number>();
    return records.map((r): RecordOutcome => {
      const first = base.get(r.partition);
      if (first === undefined)
        return {
          ok: false,
          error: new HotstateError(
            'HOTSTATE_ERR_TRANSPORT_UNCERTAIN',
            `kafkajs: no answer for partition ${String(r.partition)}`,
            { retriable: true },
          ),
        };
      const index = next.get(r.partition) ?? 0;
      next.set(r.partition, index + 1);
      return { ok: true, offset: first + index };
    });
  }

  async close(): Promise<void> {
    await (await this.producer?.catch(() => undefined))?.disconnect();
  }
}

/** The given transport, with kafkajs as its producer. */
export function withKafkajsProducer(transport: Transport, brokers: readonly string[]): Transport {
  return {
    layout: (topic) => transport.layout(topic),
    offsets: (topic) => transport.offsets(topic),
    topicConfigs: (topic) => transport.topicConfigs(topic),
    topics: () => transport.topics(),
    createTopic: (creation) => transport.createTopic(creation),
    deleteTopic: (topic) => transport.deleteTopic(topic),
    read: (layout, positions, handler) => transport.read(layout, positions, handler),
    producer: () => new KafkajsProducer(brokers),
    close: () => transport.close(),
  };
}
