// One key's current state packed into a single one-byte (latin1) string: a 15-byte header then the record's
// Confluent-framed value bytes. One string per key instead of an object plus a Buffer keeps about 10 million keys
// within a few GiB of heap (see the README's memory figures); values are decoded on read.
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
  scratch[0] = value === null ? tombstoneFlag : 0;
  scratch.writeUInt16BE(partition, 1);
  scratch.writeUIntBE(offset, 3, 6);
  scratch.writeUIntBE(Math.max(0, Math.min(timestamp, 2 ** 48 - 1)), 9, 6);
  value?.copy(scratch, entryHeaderBytes);
  return scratch.toString('latin1', 0, length);
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
