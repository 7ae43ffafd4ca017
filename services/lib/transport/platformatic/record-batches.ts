// Decodes a partition's record batches (Kafka's message format v2) from the bytes of a Fetch answer straight into
// the records a view applies: one object per record holding where its key and value lie in the batch's bytes, no
// BigInt, no intermediate objects. Compressed batches are inflated by @platformatic/kafka's codecs. Under read
// committed, batches of aborted transactions are dropped as Kafka's own consumer drops them.
import { compressionsAlgorithmsByBitmask } from './kafka-library.ts';
import type { AbortedTransaction } from './raw-fetch.ts';
import { FetchedRecord } from '../transport.ts';

const COMPRESSION = 0x07;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
/** Bytes of a batch before its first record: base offset (8) ... record count (4). */
const BATCH_HEAD = 61;
type Headers = ReadonlyArray<readonly [Buffer | null, Buffer | null]>;
const noHeaders: Headers = Object.freeze([]);

export class RecordBatchError extends Error {
  override name = 'RecordBatchError';
}

export interface DecodedBatches {
  readonly records: FetchedRecord[];
  /** The offset after the last batch read whole (data or control): where the next fetch starts. */
  readonly next: number;
}

/**
 * The data records at or after `from` in `bytes`; a batch cut short at the end (the broker sends whole batches up
 * to its size limit, then possibly part of one) is left for the next fetch. `aborted` lists the answer's aborted
 * transactions (null when reading uncommitted).
 */
export function decodeRecordBatches(
  bytes: Buffer,
  from: number,
  aborted: readonly AbortedTransaction[] | null,
): DecodedBatches {
  const records: FetchedRecord[] = [];
  let next = from;
  let pos = 0;
  const pending =
    aborted === null
      ? []
      : [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  const abortedProducers = new Set<bigint>();
  while (bytes.length - pos >= BATCH_HEAD) {
    const batchLength = bytes.readInt32BE(pos + 8);
    const end = pos + 12 + batchLength;
    if (end > bytes.length) break; // cut short by the size limit
    const baseOffset = Number(bytes.readBigInt64BE(pos));
    const magic = bytes[pos + 16];
    if (magic !== 2)
      throw new RecordBatchError(
        `record batch at offset ${String(baseOffset)} has magic ${String(magic)}; only format v2 is read`,
      );
    const attributes = bytes.readInt16BE(pos + 21);
    const lastOffset = baseOffset + bytes.readInt32BE(pos + 23);
    next = Math.max(next, lastOffset + 1);
    if (aborted !== null) {
      while (pending.length > 0 && Number(pending[0]?.firstOffset) <= lastOffset)
        abortedProducers.add(pending.shift()?.producerId ?? -1n);
    }
    const producerId = (attributes & (TRANSACTIONAL | CONTROL)) !== 0 ? bytes.readBigInt64BE(pos + 43) : -1n;
    if ((attributes & CONTROL) !== 0) {
      // A transaction's end marker: an abort marker ends the producer's aborted transaction.
      if (abortedProducers.has(producerId) && controlType(bytes, pos + BATCH_HEAD, end) === 0)
        abortedProducers.delete(producerId);
    } else if (!((attributes & TRANSACTIONAL) !== 0 && abortedProducers.has(producerId)) && lastOffset >= from) {
      const firstTimestamp = Number(bytes.readBigInt64BE(pos + 27));
      const count = bytes.readInt32BE(pos + 57);
      const compression = attributes & COMPRESSION;
      const body =
        compression === 0
          ? bytes.subarray(pos + BATCH_HEAD, end)
          : inflate(compression, bytes.subarray(pos + BATCH_HEAD, end), baseOffset);
      readRecords(body, count, baseOffset, firstTimestamp, from, records);
    }
    pos = end;
  }
  return { records, next };
}

function inflate(compression: number, bytes: Buffer, baseOffset: number): Buffer {
  const codec = (
    compressionsAlgorithmsByBitmask as Record<number, { decompressSync: (data: Buffer) => Buffer } | undefined>
  )[compression];
  if (codec === undefined)
    throw new RecordBatchError(
      `record batch at offset ${String(baseOffset)} uses compression ${String(compression)}, which this client cannot read`,
    );
  return codec.decompressSync(bytes);
}

/** The type of a control batch's record (0 abort, 1 commit): its key is version (int16), type (int16). */
function controlType(bytes: Buffer, at: number, end: number): number {
  const reader = new VarintReader(bytes.subarray(at, end));
  reader.varint(); // record length
  reader.pos += 1; // attributes
  reader.varint(); // timestamp delta
  reader.varint(); // offset delta
  const keyLength = reader.varint();
  return keyLength >= 4 ? bytes.readInt16BE(at + reader.pos + 2) : -1;
}

function readRecords(
  body: Buffer,
  count: number,
  baseOffset: number,
  firstTimestamp: number,
  from: number,
  into: FetchedRecord[],
): void {
  const r = new VarintReader(body);
  for (let i = 0; i < count; i++) {
    const length = r.varint();
    const end = r.pos + length;
    if (length < 0 || end > body.length)
      throw new RecordBatchError(
        `record ${String(i)} of the batch at offset ${String(baseOffset)} runs past the batch`,
      );
    r.pos += 1; // attributes (unused)
    const timestampDelta = r.varint();
    const offset = baseOffset + r.varint();
    const keyLength = r.varint();
    const keyAt = r.skip(keyLength);
    const valueLength = r.varint();
    const valueAt = r.skip(valueLength);
    const headerCount = r.varint();
    let headers: Headers = noHeaders;
    if (headerCount > 0) {
      const list: Array<readonly [Buffer | null, Buffer | null]> = [];
      for (let h = 0; h < headerCount; h++) list.push([r.bytes(), r.bytes()]);
      headers = list;
    }
    if (r.pos !== end)
      throw new RecordBatchError(
        `record ${String(i)} of the batch at offset ${String(baseOffset)} is ${String(length)} bytes but its fields take ${String(r.pos - end + length)}`,
      );
    if (offset >= from)
      into.push(
        new FetchedRecord(
          offset,
          firstTimestamp + timestampDelta,
          body,
          keyAt,
          keyLength,
          valueAt,
          valueLength,
          headers,
        ),
      );
  }
}

/** Zig-zag varints and length-prefixed byte strings, with bounds checked. */
class VarintReader {
  readonly buf: Buffer;
  pos = 0;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  varint(): number {
    let result = 0;
    let factor = 1;
    for (let i = 0; i < 10; i++) {
      const byte = this.buf[this.pos++];
      if (byte === undefined) throw new RecordBatchError('a record batch ends inside a varint');
      result += (byte & 0x7f) * factor;
      if (byte < 0x80) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      factor *= 128;
    }
    throw new RecordBatchError('over-long varint in a record batch');
  }

  /** Passes `length` bytes (none for -1, null); returns where they start. */
  skip(length: number): number {
    const start = this.pos;
    if (length < 0) return start;
    this.pos += length;
    if (this.pos > this.buf.length) throw new RecordBatchError('a record batch ends inside a key, value or header');
    return start;
  }

  /** A varint length then that many bytes (a view of them); length -1 is null. */
  bytes(): Buffer | null {
    const length = this.varint();
    const start = this.skip(length);
    return length < 0 ? null : this.buf.subarray(start, this.pos);
  }
}
