// The snapshot file format, version 1: a view's entries at one version, written once and read back only after
// every length and the checksums have been checked. All integers big-endian.
//   0    8  magic "HOTSNAP\n"
//   8    2  format version (1)
//   10   8  offset H of the header (written last, when the body is complete)
//   18   .. body: one record per key, in no particular order:
//             u32 key length, the key (UTF-8), u32 entry length, the entry (the view's packed entry: flags,
//             partition u16, offset u48, timestamp u48, then the record's Confluent-framed value bytes)
//   H    .. header: JSON (UTF-8), see SnapshotHeader
//   end-32  SHA-256 of the header bytes
// The header names the topic and its id, the position vector the entries are at, the writer schema ids they use,
// the creation time, the entry count, and the body's length and SHA-256.
import { createHash } from 'node:crypto';
import { constants as fs } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HotstateError } from '../errors.ts';
import type { VersionVector } from '../version-token.ts';
import { entryHeaderBytes, entrySchemaId, isTombstoneByte } from '../store/entry.ts';

export const snapshotFormatVersion = 1;
const magic = Buffer.from('HOTSNAP\n', 'latin1');
export const preludeBytes = 18;
const hashBytes = 32;
/** Bounds checked before anything is allocated: a key above this is not a key we would have stored. */
const maxKeyBytes = 1024 * 1024;
const maxEntryBytes = 256 * 1024 * 1024;
const maxHeaderBytes = 64 * 1024 * 1024;
/** How far ahead of this machine's clock a snapshot's creation time may be (another writer's clock). */
export const clockSkewMs = 5 * 60_000;
const chunkBytes = 1024 * 1024;

export interface SnapshotHeader {
  readonly formatVersion: number;
  readonly topic: string;
  readonly topicId: string;
  readonly partitions: number;
  /** partition → next offset: the entries are the view at exactly this version. */
  readonly positions: Record<string, number>;
  readonly schemaIds: number[];
  /** Epoch ms when the version was taken. */
  readonly createdAt: number;
  readonly entries: number;
  readonly bodyBytes: number;
  readonly bodySha256: string;
}

/** The version a snapshot holds: its header's positions as a version vector. */
export function snapshotVersion(header: SnapshotHeader): VersionVector {
  return {
    topic: header.topic,
    topicId: header.topicId,
    positions: new Map(Object.entries(header.positions).map(([p, next]) => [Number(p), next])),
  };
}

export type SnapshotProblem = 'corrupt' | 'format';

/** A snapshot file that cannot be used, and why: `format` (not a snapshot, or a version we do not know) or `corrupt`. */
export class SnapshotFileError extends HotstateError {
  readonly problem: SnapshotProblem;
  /** What is wrong with the file (the message without the file's name). */
  readonly reason: string;
  constructor(problem: SnapshotProblem, file: string, reason: string) {
    super('HOTSTATE_ERR_SNAPSHOT_UNUSABLE', `snapshot ${file}: ${reason}`);
    this.problem = problem;
    this.reason = reason;
  }
}

export interface SnapshotMeta {
  readonly topic: string;
  readonly topicId: string;
  readonly positions: ReadonlyMap<number, number>;
  readonly createdAt: number;
}

/** How long one synchronous stretch of serialization may run before the event loop gets a turn. */
const sliceMs = 4;

/**
 * Writes the entries to `file` atomically (a temporary file, fsync, rename, fsync of the folder). The iterator is
 * consumed in slices of a few milliseconds with the event loop free in between (each slice ends with an awaited
 * write), so neither readers nor the apply loop wait on a snapshot being written.
 */
export async function writeSnapshotFile(
  file: string,
  meta: SnapshotMeta,
  entries: Iterator<[string, string]>,
): Promise<SnapshotHeader> {
  const temporary = `${file}.tmp-${String(process.pid)}-${String(Date.now())}`;
  const handle = await open(temporary, 'w');
  try {
    const prelude = Buffer.alloc(preludeBytes);
    magic.copy(prelude, 0);
    prelude.writeUInt16BE(snapshotFormatVersion, 8);
    await handle.write(prelude, 0, preludeBytes, 0);
    const hash = createHash('sha256');
    const schemaIds = new Set<number>();
    let position = preludeBytes;
    let count = 0;
    let chunk = Buffer.allocUnsafe(chunkBytes);
    for (let done = false; !done;) {
      let used = 0;
      const sliceEnds = performance.now() + sliceMs;
      while (used < chunkBytes - 64 && performance.now() < sliceEnds) {
        const next = entries.next();
        if (next.done === true) {
          done = true;
          break;
        }
        const [key, entry] = next.value;
        const keyBytes = Buffer.byteLength(key, 'utf8');
        const need = 8 + keyBytes + entry.length;
        if (used + need > chunk.length) {
          if (used > 0) {
            await flush(handle, chunk, used, position, hash);
            position += used;
            used = 0;
          }
          if (need > chunk.length) chunk = Buffer.allocUnsafe(need);
        }
        chunk.writeUInt32BE(keyBytes, used);
        chunk.write(key, used + 4, 'utf8');
        chunk.writeUInt32BE(entry.length, used + 4 + keyBytes);
        chunk.write(entry, used + 8 + keyBytes, 'latin1');
        used += need;
        count++;
        schemaIds.add(entrySchemaId(entry));
      }
      if (used > 0) {
        await flush(handle, chunk, used, position, hash);
        position += used;
      } else if (!done) {
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const header: SnapshotHeader = {
      formatVersion: snapshotFormatVersion,
      topic: meta.topic,
      topicId: meta.topicId,
      partitions: meta.positions.size,
      positions: Object.fromEntries(
        [...meta.positions].sort(([a], [b]) => a - b).map(([p, next]) => [String(p), next]),
      ),
      schemaIds: [...schemaIds].sort((a, b) => a - b),
      createdAt: meta.createdAt,
      entries: count,
      bodyBytes: position - preludeBytes,
      bodySha256: hash.digest('hex'),
    };
    const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    await handle.write(headerBytes, 0, headerBytes.length, position);
    await handle.write(createHash('sha256').update(headerBytes).digest(), 0, hashBytes, position + headerBytes.length);
    const offset = Buffer.alloc(8);
    offset.writeBigUInt64BE(BigInt(position));
    await handle.write(offset, 0, 8, 10);
    await handle.sync();
    await handle.close();
    await rename(temporary, file);
    const folder = await open(dirname(file), 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
    return header;
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
}

async function flush(
  handle: FileHandle,
  chunk: Buffer,
  used: number,
  position: number,
  hash: ReturnType<typeof createHash>,
): Promise<void> {
  hash.update(chunk.subarray(0, used));
  await handle.write(chunk, 0, used, position);
}

/**
 * Opens a snapshot for reading only if it is a regular file: not through a link (O_NOFOLLOW), never blocking on a
 * FIFO (O_NONBLOCK), and checked on the opened file itself, so a folder, a FIFO or a device is refused, not read.
 */
export async function openSnapshot(file: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(file, fs.O_RDONLY | fs.O_NOFOLLOW | fs.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ELOOP' ? 'a symbolic link (snapshots are read only as regular files)' : String(code);
    throw new SnapshotFileError('format', file, `cannot be opened: ${why}`);
  }
  const stat = await handle.stat();
  if (!stat.isFile()) {
    await handle.close();
    throw new SnapshotFileError('format', file, 'not a regular file (a folder, FIFO or device)');
  }
  return handle;
}

/** Reads and checks the prelude and the header (not the body): cheap, for choosing and inspecting snapshots. */
export async function readSnapshotHeader(file: string): Promise<{ header: SnapshotHeader; fileBytes: number }> {
  const handle = await openSnapshot(file);
  try {
    return await readHeader(handle, file);
  } finally {
    await handle.close();
  }
}

export async function readHeader(
  handle: FileHandle,
  file: string,
): Promise<{ header: SnapshotHeader; fileBytes: number }> {
  const { size } = await handle.stat();
  const corrupt = (message: string): SnapshotFileError => new SnapshotFileError('corrupt', file, message);
  const prelude = Buffer.alloc(preludeBytes);
  if (
    size < preludeBytes ||
    (await handle.read(prelude, 0, preludeBytes, 0)).bytesRead < preludeBytes ||
    !prelude.subarray(0, 8).equals(magic)
  ) {
    throw new SnapshotFileError('format', file, 'not a hotstate snapshot (magic bytes missing)');
  }
  const version = prelude.readUInt16BE(8);
  if (version !== snapshotFormatVersion)
    throw new SnapshotFileError(
      'format',
      file,
      `format version ${String(version)} is unknown to this hotstate (it reads ${String(snapshotFormatVersion)})`,
    );
  const headerAt = Number(prelude.readBigUInt64BE(10));
  const headerBytes = size - hashBytes - headerAt;
  if (headerAt === 0) throw corrupt('incomplete: the header was never written');
  if (headerAt < preludeBytes || headerBytes <= 0 || headerBytes > maxHeaderBytes)
    throw corrupt(`header offset ${String(headerAt)} does not fit a file of ${String(size)} bytes`);
  const tail = Buffer.alloc(headerBytes + hashBytes);
  await handle.read(tail, 0, tail.length, headerAt);
  const headerText = tail.subarray(0, headerBytes);
  if (!createHash('sha256').update(headerText).digest().equals(tail.subarray(headerBytes)))
    throw corrupt('header checksum mismatch');
  const header = parseHeader(headerText.toString('utf8'), (message) => corrupt(message));
  if (header.bodyBytes !== headerAt - preludeBytes)
    throw corrupt(`body is ${String(headerAt - preludeBytes)} bytes, the header says ${String(header.bodyBytes)}`);
  if (header.createdAt > Date.now() + clockSkewMs)
    throw corrupt(
      `created at ${new Date(header.createdAt).toISOString()}, in this machine's future: its writer's clock is off, so its age cannot be judged`,
    );
  return { header, fileBytes: size };
}

function parseHeader(text: string, corrupt: (message: string) => Error): SnapshotHeader {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw corrupt('header is not JSON');
  }
  const h = (value ?? {}) as { [K in keyof SnapshotHeader]?: unknown };
  const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  const positions = typeof h.positions === 'object' && h.positions !== null ? Object.entries(h.positions) : [];
  if (
    typeof h.topic !== 'string' ||
    typeof h.topicId !== 'string' ||
    !isCount(h.partitions) ||
    !isCount(h.createdAt) ||
    !isCount(h.entries) ||
    !isCount(h.bodyBytes) ||
    typeof h.bodySha256 !== 'string' ||
    !Array.isArray(h.schemaIds) ||
    !h.schemaIds.every(isCount) ||
    positions.length !== h.partitions ||
    !positions.every(([p, next]) => isCount(Number(p)) && isCount(next))
  ) {
    throw corrupt('header fields are missing or malformed');
  }
  return h as SnapshotHeader;
}

/**
 * Streams the body of a checked snapshot, handing each key and entry to `onEntry`; every length is checked against
 * what is left of the body before it is trusted, and the entry count and body checksum are checked at the end (the
 * caller applies entries to a store it throws away when this rejects).
 */
export async function readSnapshotEntries(
  file: string,
  onEntry: (key: string, entry: string) => void,
): Promise<SnapshotHeader> {
  const handle = await openSnapshot(file);
  try {
    const { header } = await readHeader(handle, file);
    const corrupt = (message: string): SnapshotFileError => new SnapshotFileError('corrupt', file, message);
    const { positions } = snapshotVersion(header);
    const hash = createHash('sha256');
    const end = preludeBytes + header.bodyBytes;
    let buffer = Buffer.allocUnsafe(4 * chunkBytes);
    let start = 0; // unread bytes are buffer[start, filled)
    let filled = 0;
    let fileAt = preludeBytes;
    let count = 0;
    const ensure = async (bytes: number, what: string): Promise<void> => {
      if (filled - start >= bytes) return;
      if (fileAt + (bytes - (filled - start)) > end)
        throw corrupt(`truncated: ${what} runs past the end of the body (entry ${String(count + 1)})`);
      if (buffer.length - start < bytes) {
        const bigger = Buffer.allocUnsafe(Math.max(buffer.length, bytes + chunkBytes));
        buffer.copy(bigger, 0, start, filled);
        buffer = bigger;
      } else {
        buffer.copy(buffer, 0, start, filled);
      }
      filled -= start;
      start = 0;
      while (filled < bytes) {
        const want = Math.min(buffer.length - filled, end - fileAt);
        const { bytesRead } = await handle.read(buffer, filled, want, fileAt);
        if (bytesRead === 0) throw corrupt('truncated: the file ends inside the body');
        hash.update(buffer.subarray(filled, filled + bytesRead));
        filled += bytesRead;
        fileAt += bytesRead;
      }
    };
    while (fileAt < end || start < filled) {
      // Awaited only when the buffer runs short (once per chunk, not per entry).
      if (filled - start < 4) await ensure(4, 'a key length');
      const keyBytes = buffer.readUInt32BE(start);
      checkLength('key', keyBytes, count, corrupt);
      if (filled - start < 8 + keyBytes) await ensure(8 + keyBytes, 'a key');
      const entryBytes = buffer.readUInt32BE(start + 4 + keyBytes);
      checkLength('entry', entryBytes, count, corrupt);
      if (filled - start < 8 + keyBytes + entryBytes) await ensure(8 + keyBytes + entryBytes, 'an entry');
      checkInVersion(buffer, start, keyBytes, positions, count, corrupt);
      const key = buffer.toString('utf8', start + 4, start + 4 + keyBytes);
      const entry = buffer.toString('latin1', start + 8 + keyBytes, start + 8 + keyBytes + entryBytes);
      start += 8 + keyBytes + entryBytes;
      count++;
      onEntry(key, entry);
    }
    if (count !== header.entries) throw corrupt(`${String(count)} entries, the header says ${String(header.entries)}`);
    if (hash.digest('hex') !== header.bodySha256) throw corrupt('body checksum mismatch');
    return header;
  } finally {
    await handle.close();
  }
}

export type Corrupt = (message: string) => SnapshotFileError;

export function checkLength(what: 'key' | 'entry', bytes: number, count: number, corrupt: Corrupt): void {
  const min = what === 'key' ? 1 : entryHeaderBytes;
  const max = what === 'key' ? maxKeyBytes : maxEntryBytes;
  if (bytes < min || bytes > max)
    throw corrupt(`entry ${String(count + 1)}: ${what} length ${String(bytes)} is out of bounds`);
}

/** The entry of the record at `at` (u32 key length, key, u32 entry length, entry) must be a value of the header's version. */
export function checkInVersion(
  bytes: Buffer,
  at: number,
  keyBytes: number,
  positions: ReadonlyMap<number, number>,
  count: number,
  corrupt: Corrupt,
): void {
  // In bounds: the entry's length was checked. Plain byte reads: this runs for every entry of a restore.
  const entryAt = at + 8 + keyBytes;
  const next = positions.get((bytes[entryAt + 1] as number) * 256 + (bytes[entryAt + 2] as number));
  let offset = 0;
  for (let i = entryAt + 3; i < entryAt + 9; i++) offset = offset * 256 + (bytes[i] as number);
  if (isTombstoneByte(bytes[entryAt] as number) || next === undefined || offset >= next) {
    throw corrupt(
      `entry ${String(count + 1)} (key ${JSON.stringify(bytes.toString('utf8', at + 4, at + 4 + keyBytes).slice(0, 80))}) is not part of the version the header names`,
    );
  }
}
