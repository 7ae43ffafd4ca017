// The producer's options, with their defaults and checks in one place.
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { settingsOf } from '../options.ts';
import type { RegistryTarget } from '../registry.ts';
import type { KafkaConnection, Transport } from '../transport/transport.ts';
import type { WriteHeaders } from './prepare.ts';

export interface ProducerOptions {
  readonly kafka: KafkaConnection;
  /** The registry's URL, or a connection with credentials and a CA (RegistryConnection). */
  readonly registryUrl: RegistryTarget;
  readonly topic: string;
  /** Writer schema (Avro JSON text or object). @defaultValue the latest schema registered under `<topic>-value` */
  readonly schema?: string | object;
  /** Register `schema` when it is not registered yet (the registry's compatibility rule still applies). @defaultValue `false` */
  readonly registerSchema?: boolean;
  /** Cap on a key's UTF-8 bytes. @defaultValue `1024` */
  readonly maxKeyBytes?: number;
  /** Cap on the encoded value. @defaultValue `1000000`, or less when the topic's `max.message.bytes` is smaller */
  readonly maxValueBytes?: number;
  /** Records per produce request. @defaultValue `5000` */
  readonly maxBatchRecords?: number;
  /** Bytes per produce request (keys, values, headers); larger calls are cut into several requests.
   *  @defaultValue `1000000`, or less when the topic's `max.message.bytes` is smaller */
  readonly maxBatchBytes?: number;
  /** Bound on one produce request, retries included. @defaultValue `30000` */
  readonly sendTimeoutMs?: number;
  /** Headers added to every write (per-write headers win). */
  readonly headers?: WriteHeaders;
  /** prom-client registry for the producer metrics. @defaultValue none (no metrics) */
  readonly metrics?: Registry;
  /** The Kafka client seam. @defaultValue the @platformatic/kafka transport on `kafka` */
  readonly transport?: Transport;
}

type Defaulted = 'registerSchema' | 'maxKeyBytes' | 'maxBatchRecords' | 'sendTimeoutMs' | 'headers';
/** The options as the producer uses them: every fixed default filled in (the size caps follow the topic). */
export type ProducerSettings = ProducerOptions & Readonly<Required<Pick<ProducerOptions, Defaulted>>>;

/** The default of every optional setting with a fixed default (each option's TSDoc names it too). */
export const producerDefaults: Readonly<Required<Pick<ProducerOptions, Defaulted>>> = {
  registerSchema: false,
  maxKeyBytes: 1024,
  maxBatchRecords: 5000,
  sendTimeoutMs: 30_000,
  headers: {},
};

const positive = z.number().int().positive().optional();
const optionChecks = z.object({
  topic: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name'),
  maxKeyBytes: positive,
  maxValueBytes: positive,
  maxBatchRecords: positive,
  maxBatchBytes: positive,
  sendTimeoutMs: positive,
});

/** The options with every default filled in; HOTSTATE_ERR_CONFIG_INVALID listing every bad setting. */
export function producerSettings(options: ProducerOptions): ProducerSettings {
  return settingsOf('producer', producerDefaults, options, optionChecks);
}
