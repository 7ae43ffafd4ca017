// Bearer tokens compared in constant time; the token never appears in errors or logs.
import { timingSafeEqual } from 'node:crypto';

export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const given = Buffer.from(authorization ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
