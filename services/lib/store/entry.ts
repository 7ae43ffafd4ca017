// One key's current state packed into a single one-byte (latin1) string: a 15-byte header then the record's
// Confluent-framed value bytes. One string per key instead of an object plus a Buffer keeps about 10 million keys
// within a few GiB of heap (see docs/library.md's memory figures); values are decoded on read.
//   byte 0      flags (bit 0: tombstone kept for an open snapshot)
//   bytes 1-2   partition (uint16)
//   bytes 3-8   offset (uint48)
//   bytes 9-14  record timestamp, ms (uint48)
//   bytes 15-   value bytes (magic byte, schema id, Avro)

export const entryHeaderBytes = 15;
const tombstoneFlag = 1;

let scratch = Buffer.allocUnsafe(64 * 1024);

export function packEntry(partition: number, offset: number, timestamp: number, value: Buffer | null): string {
  const length = entryHeaderBytes + (value?.length ?? 0);
  if (scratch.length < length) scratch = Buffer.allocUnsafe(Math.max(length, scratch.length * 2));
  writeEntryHeader(scratch, 0, partition, offset, timestamp, value === null);
  if (value !== null) scratch.set(value, entryHeaderBytes);
  return scratch.toString('latin1', 0, length);
}

/** Writes an entry's 15-byte header at `at` (the caller makes room). */
export function writeEntryHeader(
  bytes: Buffer,
  at: number,
  partition: number,
  offset: number,
  timestamp: number,
  tombstone = false,
): void {
  bytes[at] = tombstone ? tombstoneFlag : 0;
  bytes[at + 1] = partition >>> 8;
  bytes[at + 2] = partition;
  writeUint48(bytes, at + 3, offset);
  writeUint48(bytes, at + 9, Math.max(0, Math.min(timestamp, 2 ** 48 - 1)));
}

function writeUint48(bytes: Buffer, at: number, n: number): void {
  const high = Math.floor(n / 2 ** 32);
  const low = n >>> 0;
  bytes[at] = high >>> 8;
  bytes[at + 1] = high;
  bytes[at + 2] = low >>> 24;
  bytes[at + 3] = low >>> 16;
  bytes[at + 4] = low >>> 8;
  bytes[at + 5] = low;
}

const byte = (entry: string, i: number): number => entry.charCodeAt(i);
const uint48 = (entry: string, at: number): number => {
  let n = 0;
  for (let i = 0; i < 6; i++) n = n * 256 + byte(entry, at + i);
  return n;
};

export const isTombstone = (entry: string): boolean => isTombstoneByte(byte(entry, 0));
/** The flags byte (an entry's first) says tombstone. */
export const isTombstoneByte = (flags: number): boolean => (flags & tombstoneFlag) !== 0;
export const entryPartition = (entry: string): number => byte(entry, 1) * 256 + byte(entry, 2);
export const entryOffset = (entry: string): number => uint48(entry, 3);
export const entryTimestamp = (entry: string): number => uint48(entry, 9);
/** Writer schema id from the framed value (bytes 1-4 after the magic byte). */
export const entrySchemaId = (entry: string): number =>
  ((byte(entry, 16) << 24) >>> 0) + (byte(entry, 17) << 16) + (byte(entry, 18) << 8) + byte(entry, 19);
export const entryValueBytes = (entry: string): Buffer => Buffer.from(entry.slice(entryHeaderBytes), 'latin1');
