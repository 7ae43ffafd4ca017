// Restoring in place: a checked snapshot's whole body read into one Buffer and indexed where its entries lie
// (BaseIndex), with no string per entry; every length and entry checked as readSnapshotEntries does.
import { constants as bufferLimits } from 'node:buffer';
import { createHash } from 'node:crypto';
import { totalmem } from 'node:os';
import { BaseIndex } from '../store/base-index.ts';
import { entryHeaderBytes } from '../store/entry.ts';
import { readU32 } from '../store/u32.ts';
import {
  checkInVersion,
  checkLength,
  openSnapshot,
  preludeBytes,
  readHeader,
  SnapshotFileError,
  snapshotVersion,
  type Corrupt,
  type SnapshotHeader,
} from './format.ts';

/** Smallest record of the body: two lengths, a one-byte key and an entry header. */
const minRecordBytes = 8 + 1 + entryHeaderBytes;

/**
 * Reads a checked snapshot's whole body into one Buffer and indexes its entries in place (BaseIndex) without a
 * string per entry: every length and entry is checked as readSnapshotEntries does, a key found twice makes the file
 * corrupt, and nothing is returned unless the body's checksum matches.
 */
export async function readSnapshotBase(file: string): Promise<{ header: SnapshotHeader; base: BaseIndex }> {
  const handle = await openSnapshot(file);
  try {
    const { header } = await readHeader(handle, file);
    const corrupt: Corrupt = (message) => new SnapshotFileError('corrupt', file, message);
    if (header.entries * minRecordBytes > header.bodyBytes)
      throw corrupt(`${String(header.entries)} entries cannot fit a body of ${String(header.bodyBytes)} bytes`);
    // Checked before allocating: a sparse file can claim any size.
    const room = Math.min(bufferLimits.MAX_LENGTH, totalmem() / 2);
    if (header.bodyBytes > room)
      throw corrupt(
        `its body of ${String(header.bodyBytes)} bytes is more than this machine can hold in memory (${String(Math.floor(room))})`,
      );
    let body: Buffer;
    try {
      body = Buffer.from(new ArrayBuffer(header.bodyBytes)); // its own memory, so that it can move to another thread
    } catch (error) {
      throw corrupt(`its body of ${String(header.bodyBytes)} bytes cannot be allocated: ${(error as Error).message}`);
    }
    const hash = createHash('sha256');
    const indexer = new BodyIndexer(body, header, corrupt);
    let problem: Error | undefined;
    // The next piece is read (on libuv's threads) while this one is hashed and indexed here.
    const readFrom = (at: number): Promise<{ bytesRead: number }> =>
      handle.read(body, at, Math.min(body.length - at, readBytes), preludeBytes + at);
    let reading = body.length > 0 ? readFrom(0) : undefined;
    for (let filled = 0; reading !== undefined;) {
      const { bytesRead } = await reading;
      if (bytesRead === 0) throw corrupt('truncated: the file ends inside the body');
      hash.update(body.subarray(filled, filled + bytesRead));
      filled += bytesRead;
      reading = filled < body.length ? readFrom(filled) : undefined;
      try {
        if (problem === undefined) indexer.indexUpTo(filled);
      } catch (error) {
        problem = error as Error; // reported after the checksum: a damaged body is said to be damaged, whatever it broke
      }
    }
    if (hash.digest('hex') !== header.bodySha256) throw corrupt('body checksum mismatch');
    if (problem !== undefined) throw problem;
    return { header, base: indexer.finish() };
  } finally {
    await handle.close();
  }
}

const readBytes = 8 * 1024 * 1024;

/** Indexes the body's records as they arrive, checking each as readSnapshotEntries does. */
class BodyIndexer {
  private readonly body: Buffer;
  private readonly header: SnapshotHeader;
  private readonly corrupt: Corrupt;
  private readonly positions: ReadonlyMap<number, number>;
  private readonly base: BaseIndex;
  private at = 0;
  private count = 0;

  constructor(body: Buffer, header: SnapshotHeader, corrupt: Corrupt) {
    this.body = body;
    this.header = header;
    this.corrupt = corrupt;
    this.positions = snapshotVersion(header).positions;
    this.base = new BaseIndex(body, header.entries);
  }

  /** Indexes every record that lies wholly below `filled`; at the end of the body, a record cut short is corrupt. */
  indexUpTo(filled: number): void {
    const { body, corrupt } = this;
    const final = filled === body.length;
    const short = (what: string): boolean => {
      if (final) throw corrupt(`truncated: ${what} runs past the end of the body (entry ${String(this.count + 1)})`);
      return true;
    };
    while (this.at < filled) {
      const at = this.at;
      if (this.count === this.header.entries)
        throw corrupt(`more entries than the ${String(this.header.entries)} the header says`);
      if (filled - at < 8 && short('a key length')) return;
      const keyBytes = readU32(body, at);
      checkLength('key', keyBytes, this.count, corrupt);
      if (filled - at < 8 + keyBytes && short('a key')) return;
      const entryBytes = readU32(body, at + 4 + keyBytes);
      checkLength('entry', entryBytes, this.count, corrupt);
      if (filled - at < 8 + keyBytes + entryBytes && short('an entry')) return;
      checkInVersion(body, at, keyBytes, this.positions, this.count, corrupt);
      this.base.add(at + 4, keyBytes);
      this.at = at + 8 + keyBytes + entryBytes;
      this.count++;
    }
  }

  finish(): BaseIndex {
    if (this.count !== this.header.entries)
      throw this.corrupt(`${String(this.count)} entries, the header says ${String(this.header.entries)}`);
    const twice = this.base.seal();
    if (twice >= 0) throw this.corrupt(`key ${JSON.stringify(this.base.key(twice).slice(0, 80))} appears twice`);
    return this.base;
  }
}
