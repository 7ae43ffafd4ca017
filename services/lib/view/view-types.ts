// The view's public types: options (with their defaults and checks in one place), status, events.
import { z } from 'zod';
import { settingsOf } from '../options.ts';
import type { SnapshotStatus } from '../snapshot/view-snapshot-files.ts';
import type { Registry } from 'prom-client';
import type { RegistryTarget } from '../registry.ts';
import type { Logger } from '../logger.ts';
import type { KafkaConnection, Transport } from '../transport/transport.ts';
import { defaultRecordLimits, type Poison } from '../core/poison.ts';
import type { KeyPartitionConflict, PinStatus, ReplayProgress } from '../core/data-types.ts';

export type { KeyPartitionConflict, ReplayProgress } from '../core/data-types.ts';
import type { RebuildReason, ViewState, ViewStateName } from '../core/view-state.ts';
import type { SchemaSource } from '../core/writer-schemas.ts';
import type { TransactionSettings, TransactionStatus } from './view-transactions.ts';

export type PoisonPolicy = 'fail' | 'skip' | 'dead-letter';

type Defaulted =
  | 'poisonPolicy'
  | 'createDeadLetterTopic'
  | 'maxValueBytes'
  | 'maxItems'
  | 'maxNestingDepth'
  | 'healthCheckIntervalMs'
  | 'staleAfterMs';
/** The options as a view uses them: every default filled in. */
export type ViewSettings = ViewOptions & Readonly<Required<Pick<ViewOptions, Defaulted>>>;

/** The default of every optional setting of ViewOptions (each option's TSDoc names it too). */
export const viewDefaults: Readonly<Required<Pick<ViewOptions, Defaulted>>> = {
  poisonPolicy: 'skip',
  createDeadLetterTopic: false,
  maxValueBytes: defaultRecordLimits.maxValueBytes,
  maxItems: defaultRecordLimits.maxItems,
  maxNestingDepth: defaultRecordLimits.maxDepth,
  healthCheckIntervalMs: 5000,
  staleAfterMs: 5000,
};

const positive = z.number().int().positive();
const optionChecks = z.object({
  topic: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name'),
  poisonPolicy: z.enum(['fail', 'skip', 'dead-letter']),
  deadLetterTopic: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name')
    .optional(),
  maxValueBytes: positive,
  maxItems: positive,
  maxNestingDepth: positive,
  healthCheckIntervalMs: z.number().int().min(10),
  staleAfterMs: z.number().int().min(10),
  source: z.object({ connectUrl: z.url(), connector: z.string().min(1) }).optional(),
  transactions: z
    .union([
      z.literal(false),
      z.object({
        topic: z
          .string()
          .regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name')
          .optional(),
        settleMs: z.number().int().min(0).optional(),
        lookbackMs: z.number().int().min(0).optional(),
      }),
    ])
    .optional(),
});

/** The options with every default filled in; HOTSTATE_ERR_CONFIG_INVALID listing every bad setting. */
export function viewSettings(options: ViewOptions): ViewSettings {
  return settingsOf('view', viewDefaults, options, optionChecks);
}

export interface ViewOptions {
  readonly kafka: KafkaConnection;
  /** The registry's URL, or a connection with credentials and a CA (RegistryConnection). */
  readonly registryUrl: RegistryTarget;
  readonly topic: string;
  /** Resolve every record to this schema (Avro JSON text or object). @defaultValue each record's writer schema */
  readonly readerSchema?: string | object;
  /** What a poison record does. @defaultValue `skip` */
  readonly poisonPolicy?: PoisonPolicy;
  /** Checked at start when the policy is `dead-letter`: missing is a start-up error unless it may be created. @defaultValue `<topic>.hotstate-dlq` */
  readonly deadLetterTopic?: string;
  /** Create a missing dead-letter topic (`cleanup.policy=delete`, 14 days, the topic's partitions and replication). @defaultValue `false` */
  readonly createDeadLetterTopic?: boolean;
  /** Values above this size are poison. @defaultValue `1000000` */
  readonly maxValueBytes?: number;
  /**
   * Array items and map entries in one record, summed over all its containers (nested ones cannot multiply it);
   * beyond it the record is poison. Bounds what one read of a hostile record costs. @defaultValue `25000`
   */
  readonly maxItems?: number;
  /** Nesting depth of records, arrays, maps and unions in a value; deeper is poison. @defaultValue `64` */
  readonly maxNestingDepth?: number;
  /** How often end offsets are checked for truncation, recreation and lag. @defaultValue `5000` */
  readonly healthCheckIntervalMs?: number;
  /** A ready view that has not advanced for this long while records wait is `stale`. @defaultValue `5000` */
  readonly staleAfterMs?: number;
  /** The Kafka client seam. @defaultValue the @platformatic/kafka transport on `kafka` */
  readonly transport?: Transport;
  /** Where writer schemas come from. @defaultValue the registry at `registryUrl` */
  readonly schemaSource?: SchemaSource;
  /**
   * Start from the newest usable snapshot file of the topic in `dir` (see `writeSnapshot`), then fetch from its
   * positions; a snapshot too old for the topic's delete.retention.ms, of a recreated or truncated topic, or corrupt
   * is not used (the view replays in full and `status().snapshot` says why). @defaultValue no snapshots
   */
  readonly snapshot?: { readonly dir: string };
  /**
   * The CDC connector that writes this topic (Debezium on Kafka Connect), for `waitForSource` (read-your-database-
   * writes). @defaultValue none: waitForSource refuses
   */
  readonly source?: { readonly connectUrl: string; readonly connector: string };
  /**
   * Whole database transactions: when records carry Debezium's transaction metadata, each transaction's changes are
   * held until all have arrived (END events on the transaction topic count them) and applied in one step, so no
   * reader sees part of one (docs/cdc.md). `false` applies each change as it comes.
   * @defaultValue on, reading `<connector>.transaction` (the connector named by the records' `source.name`)
   */
  readonly transactions?: false | TransactionSettings;
  readonly metrics?: Registry;
  readonly logger?: Logger;
}

export interface ViewStatus {
  readonly state: ViewStateName;
  /** Replayed and serving (possibly stale). */
  readonly ready: boolean;
  /** Why the view is not ready or not fresh. */
  readonly reason: string | undefined;
  readonly failed: boolean;
  /** Set while a replayed view is not advancing although records wait, or cannot fetch. */
  readonly stale: { readonly since: number; readonly reason: string } | undefined;
  readonly keys: number;
  readonly version: string;
  readonly progress: ReplayProgress;
  /** Per partition: the view position, the latest end offset seen, and their difference. */
  readonly partitions: ReadonlyArray<{ partition: number; position: number; end: number; lag: number }>;
  /** Keys found in more than one partition (a writer with another partitioner, a repartitioned topic). */
  readonly keyPartitionConflicts: { readonly total: number; readonly recent: readonly KeyPartitionConflict[] };
  readonly snapshot: SnapshotStatus;
  /** Set while an operator pins what readers see (`version` is then the pinned version, `partitions` what was applied). */
  readonly pinned: PinStatus | undefined;
  /** Set once the view applies whole database transactions (docs/cdc.md). */
  readonly transactions: TransactionStatus | undefined;
}

export interface ViewEvents {
  state: [state: ViewState, previous: ViewState];
  ready: [];
  rebuild: [reason: RebuildReason];
  poison: [poison: { partition: number; offset: number; key: string | null } & Poison];
}
