// Big-endian u32s in slab bytes, without Buffer's checks (callers stay within the slab); hot in replays.

/** The big-endian u32 at `at`, without Buffer.readUInt32BE's checks (callers read within the slab). */
export const readU32 = (bytes: Buffer, at: number): number =>
  (bytes[at] as number) * 0x1000000 +
  (((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number));

export function writeU32(bytes: Buffer, at: number, n: number): void {
  bytes[at] = n >>> 24;
  bytes[at + 1] = n >>> 16;
  bytes[at + 2] = n >>> 8;
  bytes[at + 3] = n;
}
