// A Fetch request on one of @platformatic/kafka's connections, answered with each partition's record batches as one
// contiguous Buffer instead of the library's object per record: the replay decodes the batches itself
// (record-batches.ts), without a BigInt and three objects per record or re-walking the socket's chunks per read.
// The connection (TLS, SASL, re-authentication) and the request encoding stay the library's.
import type { ConnectionPool, Reader } from './kafka-library.ts';
import { fetchV13, fetchV14, fetchV15, fetchV16, fetchV17, readKnownTaggedFields } from './kafka-library.ts';

/** Fetch versions whose answers name topics by id and share one layout. */
const requestsByVersion = new Map([
  [13, fetchV13.createRequest],
  [14, fetchV14.createRequest],
  [15, fetchV15.createRequest],
  [16, fetchV16.createRequest],
  [17, fetchV17.createRequest],
]);
export const fetchVersions = [...requestsByVersion.keys()];
const FETCH_API = 1;

export interface AbortedTransaction {
  readonly producerId: bigint;
  readonly firstOffset: bigint;
}

export interface RawPartitionAnswer {
  readonly partitionIndex: number;
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly abortedTransactions: readonly AbortedTransaction[] | null;
  /** The partition's record batches, as the broker sent them (null: none). */
  readonly records: Buffer | null;
}

export interface RawFetchResponse {
  readonly errorCode: number;
  readonly responses: ReadonlyArray<{ readonly topicId: string; readonly partitions: readonly RawPartitionAnswer[] }>;
}

export interface RawFetchRequest {
  readonly version: number;
  readonly maxWaitMs: number;
  readonly maxBytes: number;
  /** 0 read uncommitted, 1 read committed. */
  readonly isolationLevel: number;
  readonly topicId: string;
  readonly partitions: ReadonlyArray<{ readonly partition: number; readonly fetchOffset: number }>;
}

/** Sends one sessionless Fetch to `broker` over `pool`; network and protocol failures reject, partition errors do not. */
export function rawFetch(
  pool: ConnectionPool,
  broker: { host: string; port: number },
  request: RawFetchRequest,
): Promise<RawFetchResponse> {
  const createRequest = requestsByVersion.get(request.version);
  if (createRequest === undefined)
    return Promise.reject(
      new Error(`Fetch version ${String(request.version)} is not one of ${fetchVersions.join(', ')}`),
    );
  const topics = [
    {
      topicId: request.topicId,
      partitions: request.partitions.map((p) => ({
        partition: p.partition,
        fetchOffset: BigInt(p.fetchOffset),
        partitionMaxBytes: request.maxBytes,
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1,
      })),
    },
  ];
  return new Promise((resolve, reject) => {
    pool.get(broker, (error, connection) => {
      if (error || connection === undefined) {
        reject(error ?? new Error('no connection'));
        return;
      }
      // Session id 0, epoch -1: a full fetch outside any fetch session (no state kept on the broker).
      connection.send(
        FETCH_API,
        request.version,
        () => createRequest(request.maxWaitMs, 1, request.maxBytes, request.isolationLevel, 0, -1, topics, [], ''),
        parseResponse,
        true,
        true,
        (failure: Error | null, response: unknown) => {
          if (failure) reject(failure);
          else resolve(response as RawFetchResponse);
        },
      );
    });
  });
}

/*
  Fetch Response (Version: 13-17) => throttle_time_ms error_code session_id [responses] TAG_BUFFER
    responses => topic_id [partitions] TAG_BUFFER
      partitions => partition_index error_code high_watermark last_stable_offset log_start_offset
                    [aborted_transactions] preferred_read_replica records TAG_BUFFER
        aborted_transactions => producer_id first_offset TAG_BUFFER
*/
function parseResponse(_correlationId: number, _apiKey: number, _apiVersion: number, reader: Reader): RawFetchResponse {
  reader.readInt32(); // throttle_time_ms
  const errorCode = reader.readInt16();
  reader.readInt32(); // session_id
  const responses = reader.readArray((r) => ({
    topicId: r.readUUID(),
    partitions: r.readArray(
      (r) => {
        const partitionIndex = r.readInt32();
        const partitionError = r.readInt16();
        const highWatermark = Number(r.readInt64());
        r.readInt64(); // last_stable_offset
        const logStartOffset = Number(r.readInt64());
        const abortedTransactions = r.readNullableArray((r) => ({
          producerId: r.readInt64(),
          firstOffset: r.readInt64(),
        }));
        r.readInt32(); // preferred_read_replica
        const size = r.readUnsignedVarInt() - 1; // COMPACT_RECORDS: length + 1, 0 for null
        // One copy when the batches span socket chunks, none when they lie in one.
        const records = size > 0 ? r.buffer.slice(r.position, r.position + size) : null;
        if (size > 0) r.skip(size);
        readKnownTaggedFields(r, {});
        return {
          partitionIndex,
          errorCode: partitionError,
          highWatermark,
          logStartOffset,
          abortedTransactions,
          records,
        };
      },
      true,
      false,
    ), // each partition's tagged fields read above
  })); // each topic's tagged fields skipped by readArray
  readKnownTaggedFields(reader, {});
  return { errorCode, responses };
}
