// Key hashes as the base index and the deleted-keys filter file them: over the key's UTF-8 bytes, for a string or
// for bytes still in a fetched batch (both give the same hash).

// FNV-1a over the bytes, then a finalizer so that keys differing only in their last characters spread over the table.
const fnvOffset = 0x811c9dc5;
const fnvPrime = 0x01000193;
const finish = (h: number): number => {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
};

export function hashBytes(bytes: Buffer, at: number, length: number): number {
  let h = fnvOffset;
  for (let i = at, end = at + length; i < end; i++) h = Math.imul(h ^ (bytes[i] as number), fnvPrime); // callers pass ranges within the buffer
  return finish(h);
}

/** The hash of the key's UTF-8 bytes, as the index files it. */
export function keyHash(key: string): number {
  if (isAscii(key)) return hashAscii(key);
  const encoded = Buffer.from(key, 'utf8');
  return hashBytes(encoded, 0, encoded.length);
}

/** Its char codes are its UTF-8 bytes. */
export function isAscii(key: string): boolean {
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** The hash of an ASCII key's bytes (its char codes). */
export function hashAscii(key: string): number {
  let h = fnvOffset;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), fnvPrime);
  return finish(h);
}
