// What a fetched chunk goes through before it is applied: poison checks, writer schemas of values and Avro keys
// settled with the registry (waiting out an outage), and foreign records made into what the store takes.
import type { ForeignRecords } from '../core/foreign-records.ts';
import { checkRecords, type Poison, type RecordLimits } from '../core/poison.ts';
import type { WriterSchemas } from '../core/writer-schemas.ts';
import type { FetchedRecord } from '../transport/transport.ts';
import type { ChangeSource } from '../sources/change-shape.ts';
import type { ViewMetrics } from '../metrics.ts';
import type { SchemaResolution } from './schema-resolution.ts';

export interface CheckedChunk {
  /** The records to apply, index for index with the fetched ones. */
  readonly records: readonly FetchedRecord[];
  readonly poison: Map<number, Poison>;
  /** True when it waited for the registry (the caller checks readiness again). */
  readonly waited: boolean;
}

export class RecordIntake {
  private readonly values: WriterSchemas;
  private readonly foreign: ForeignRecords;
  private readonly resolution: SchemaResolution;
  private readonly limits: RecordLimits;
  /** Hears the source of each captured change read while live (for the database → Kafka latency). */
  private readonly onSource: ((record: FetchedRecord, source: ChangeSource) => void) | undefined;

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
    return { records: translated.records, poison, waited };
  }
}
