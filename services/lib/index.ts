// hotstate's public API: what `import { ... } from 'hotstate'` offers. Everything else is internal.
import './require-node.ts'; // first: an older Node gets one clear error, before any other module runs
export { createView, HotstateView, ViewSnapshot } from './view/view.ts';
export { viewDefaults } from './view/view-types.ts';
export type {
  Change,
  ChangeListenerOptions,
  FailureKind,
  Item,
  KeyPartitionConflict,
  PoisonPolicy,
  RebuildReason,
  ReplayProgress,
  ViewEvents,
  ViewOptions,
  ViewState,
  ViewStateName,
  ViewStatus,
} from './view/view.ts';
export type { SchemaSource } from './core/writer-schemas.ts';
export type { ChangeOp, ChangeSource } from './sources/change-shape.ts';
export { canonicalKey } from './sources/canonical-key.ts';
export { ConnectClient } from './cdc/connect-client.ts';
export { debeziumConnectorConfig, topicOf, transactionTopicOf } from './cdc/connector-config.ts';
export type { CdcSource } from './cdc/connector-config.ts';
export { formatLsn, parseLsn, sourcePositionQuery } from './cdc/source-position.ts';
export type { Lsn } from './cdc/source-position.ts';
export { replicationSlot } from './cdc/replication-slot.ts';
export type { SlotState } from './cdc/replication-slot.ts';
export { readSnapshotHeader, SnapshotFileError, snapshotFormatVersion } from './snapshot/format.ts';
export type { SnapshotHeader } from './snapshot/format.ts';
export { listSnapshots, pruneSnapshots, snapshotFileName } from './snapshot/snapshot-dir.ts';
export { dropPreloads, preloadSnapshot } from './snapshot/base-loader.ts';
export { judgeSnapshot } from './snapshot/verdict.ts';
export type { RestoreOutcome, TopicNow, Verdict } from './snapshot/verdict.ts';
export type { SnapshotRestore } from './snapshot/restore.ts';
export type { SnapshotStatus, WrittenSnapshot } from './snapshot/view-snapshot-files.ts';
export { createProducer, HotstateProducer } from './producer/producer.ts';
export type { BatchResult, ProducerOptions, WriteResult } from './producer/producer.ts';
export { producerDefaults } from './producer/producer-options.ts';
export type { Update, WriteHeaders } from './producer/prepare.ts';
export { assertSafeTopic, describeTopic, ensureDatasetTopic, topicProblems } from './kafka/topics.ts';
export type { DatasetTopicSpec, TopicDescription } from './kafka/topics.ts';
export { partitionForKey } from './kafka/murmur2.ts';
export { createPlatformaticTransport, withTransport } from './transport/platformatic/platformatic-transport.ts';
export { FetchedRecord } from './transport/transport.ts';
export type {
  KafkaConnection,
  OffsetRange,
  PartitionChunk,
  PartitionReader,
  ProduceRecord,
  ReadHandler,
  ReadProblem,
  RecordOutcome,
  TopicLayout,
  Transport,
  TransportProducer,
} from './transport/transport.ts';
export { probeRegistry, registerValueSchema, valueSubject } from './registry.ts';
export type { RegistryConnection, RegistryTarget } from './registry.ts';
export { encodeFramed, parseAvroSchema } from './codec/confluent-avro.ts';
export { formatVersionToken, parseVersionToken } from './version-token.ts';
export type { VersionVector } from './version-token.ts';
export { errorCodes, HotstateError, isHotstateError, ValidationError } from './errors.ts';
export type { ErrorCode, Problem, ProblemKind } from './errors.ts';
export { producerMetrics, viewMetrics } from './metrics.ts';
export { createLogger } from './logger.ts';
export type { Logger } from './logger.ts';
