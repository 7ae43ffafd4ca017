// What a fetched chunk goes through before it is applied: poison checks, writer schemas of values and Avro keys
// settled with the registry (waiting out an outage), and foreign records made into what the store takes.
import type { ForeignRecords } from '../core/foreign-records.ts';
import { checkRecords, type Poison, type RecordLimits } from '../core/poison.ts';
import type { WriterSchemas } from '../core/writer-schemas.ts';
import type { FetchedRecord } from '../transport/transport.ts';
import type { ChangeSource, TransactionTag } from '../sources/change-shape.ts';
import type { ViewMetrics } from '../metrics.ts';
import type { SchemaResolution } from './schema-resolution.ts';

export interface CheckedChunk {
  /** The records to apply, index for index with the fetched ones. */
  readonly records: readonly FetchedRecord[];
  readonly poison: Map<number, Poison>;
  /** True when it waited for the registry (the caller checks readiness again). */
  readonly waited: boolean;
  /** Set when the topic is in a format no view reads (see unreadableFormat): the view fails with it. */
  readonly unreadable?: string;
  /** Each record's database transaction (index for index), when the connector provides transaction metadata. */
  readonly transactions?: ReadonlyArray<TransactionTag | undefined>;
  /** The connector that wrote them (its transaction topic is `<connector>.transaction`). */
  readonly connector?: string | undefined;
}

const framingReasons = new Set(['bad-magic-byte', 'truncated']);

/**
 * In the replay, before any record was accepted, a chunk whose every value is not in the Confluent frame means the topic is in
 * another format (JSON from Kafka Connect's JsonConverter, plain Avro, strings): the view fails at start naming what
 * it found, instead of skipping everything and turning ready and empty.
 */
function unreadableFormat(records: readonly FetchedRecord[], poison: ReadonlyMap<number, Poison>): string | undefined {
  const values = records.filter((r) => r.valueLength >= 0);
  if (values.length === 0) return undefined;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as FetchedRecord;
    if (record.valueLength >= 0 && !framingReasons.has(poison.get(i)?.reason ?? '')) return undefined;
  }
  const first = values[0] as FetchedRecord;
  const head = (first.value as Buffer).subarray(0, 48);
  const text = head.toString('utf8');
  const looksLike = /^\s*[{[]/.test(text)
    ? "JSON (Kafka Connect's JsonConverter, or a JSON producer)"
    : /^[\x20-\x7e\s]*$/.test(text)
      ? 'text'
      : 'binary data without the Confluent header';
  return `the topic's values are not Avro in the Confluent frame (magic byte 0, schema id): all ${String(values.length)} of the first records are ${looksLike}; the first (offset ${String(first.offset)}) starts with ${JSON.stringify(text)}. Use the registry's Avro converter (docs/cdc.md) or hotstate's producer`;
}

export class RecordIntake {
  private readonly values: WriterSchemas;
  private readonly foreign: ForeignRecords;
  private readonly resolution: SchemaResolution;
  private readonly limits: RecordLimits;
  /** Hears the source of each captured change read while live (for the database → Kafka latency). */
  private readonly onSource: ((record: FetchedRecord, source: ChangeSource) => void) | undefined;
  /** Whether any record was accepted yet (the format check applies only before that). */
  private acceptedAny = false;

  constructor(
    values: WriterSchemas,
    foreign: ForeignRecords,
    resolution: SchemaResolution,
    limits: RecordLimits,
    metrics: ViewMetrics | undefined,
  ) {
    this.values = values;
    this.foreign = foreign;
    this.resolution = resolution;
    this.limits = limits;
    const topic = foreign.topic;
    metrics?.sourceLatency.zero({ topic }); // the dashboard's CDC panel has series before the first change
    this.onSource = metrics
      ? (record, source) => {
          const seconds = Math.max(0, record.timestamp - Number(source.ts_ms)) / 1000;
          metrics.sourceLatency.observe({ topic }, seconds);
        }
      : undefined;
  }

  /** The chunk checked and translated; undefined when `stopped()` turned true while it waited for the registry. */
  async check(
    records: readonly FetchedRecord[],
    stopped: () => boolean,
    live: boolean,
  ): Promise<CheckedChunk | undefined> {
    const unknown = new Set<number>();
    let poison = checkRecords(records, this.values, this.limits, unknown);
    const keyIds = this.foreign.unsettledKeyIds(records);
    let waited = false;
    if (unknown.size > 0) {
      waited = await this.resolution.settle([...unknown]);
      if (stopped()) return undefined;
      poison = checkRecords(records, this.values, this.limits); // every id has its verdict now
    }
    if (keyIds.length > 0) {
      waited = (await this.resolution.settle(keyIds, this.foreign.keySchemas)) || waited;
      if (stopped()) return undefined;
    }
    const translated = this.foreign.translate(records, this.values, poison, live ? this.onSource : undefined);
    for (const [index, problem] of translated.poison) poison.set(index, problem);
    const unreadable = this.acceptedAny || live ? undefined : unreadableFormat(records, poison);
    if (poison.size < records.length) this.acceptedAny = true;
    const { transactions, connector } = translated;
    return {
      records: translated.records,
      poison,
      waited,
      ...(unreadable === undefined ? {} : { unreadable }),
      ...(transactions === undefined ? {} : { transactions, connector }),
    };
  }
}
