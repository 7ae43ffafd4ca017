// Snapshot files made by hand, for tests of what a reader does with hostile ones.
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { snapshotFormatVersion } from '../../services/lib/snapshot/format.ts';

/** A file with a valid prelude and header (checksummed) whose body is a hole of `bodyBytes`: sparse, costs no disk. */
export function craftSnapshot(file: string, fields: { topic: string; createdAt: number; bodyBytes: number }): void {
  const headerAt = 18 + fields.bodyBytes;
  const header = Buffer.from(
    JSON.stringify({
      formatVersion: snapshotFormatVersion,
      topic: fields.topic,
      topicId: 'id',
      partitions: 1,
      positions: { '0': 1 },
      schemaIds: [],
      createdAt: fields.createdAt,
      entries: 1,
      bodyBytes: fields.bodyBytes,
      bodySha256: '0'.repeat(64),
    }),
  );
  const prelude = Buffer.alloc(18);
  prelude.write('HOTSNAP\n', 'latin1');
  prelude.writeUInt16BE(snapshotFormatVersion, 8);
  prelude.writeBigUInt64BE(BigInt(headerAt), 10);
  const fd = openSync(file, 'w');
  writeSync(fd, prelude, 0, prelude.length, 0);
  writeSync(fd, header, 0, header.length, headerAt);
  writeSync(fd, createHash('sha256').update(header).digest(), 0, 32, headerAt + header.length);
  closeSync(fd);
}
