import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isHotstateError } from '../../services/lib/errors.ts';
import { formatVersionToken, parseVersionToken, writeVersion } from '../../services/lib/version-token.ts';

test('a token round-trips and is URL-safe', () => {
  const version = {
    topic: 'prices.v1',
    positions: new Map([
      [2, 17],
      [0, 5],
    ]),
  };
  const token = formatVersionToken(version);
  assert.match(token, /^hs1\.[A-Za-z0-9_-]+$/);
  assert.equal(encodeURIComponent(token), token);
  assert.deepEqual(parseVersionToken(token), {
    topic: 'prices.v1',
    positions: new Map([
      [0, 5],
      [2, 17],
    ]),
  });
});

test('a write at offset n is covered once the position passes n', () => {
  assert.deepEqual([...writeVersion('t', 1, 41).positions], [[1, 42]]);
});

test('malformed tokens are rejected with the reason', () => {
  const body = (payload: unknown): string => `hs1.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const cases: Array<[string, RegExp]> = [
    ['', /expected it to start with "hs1\."/],
    ['hs2.abc', /expected it to start with "hs1\."/],
    ['hs1.', /not base64url/],
    ['hs1.a+b/', /not base64url/],
    [`hs1.${Buffer.from('{nope').toString('base64url')}`, /payload is not JSON/],
    [body({ p: {} }), /no topic/],
    [body({ t: 'x', p: [] }), /no partition positions/],
    [body({ t: 'x', p: { '-1': 3 } }), /partition "-1" is not a partition number/],
    [body({ t: 'x', p: { '0': -3 } }), /offset of partition 0 is not a non-negative integer/],
    [body({ t: 'x', p: { '0': 1.5 } }), /offset of partition 0/],
    [body({ t: 'x', p: { '0': '7' } }), /offset of partition 0/],
  ];
  for (const [token, reason] of cases) {
    assert.throws(
      () => parseVersionToken(token),
      (error: unknown) =>
        isHotstateError(error, 'HOTSTATE_ERR_TOKEN_MALFORMED') &&
        /malformed version token/.test(error.message) &&
        reason.test(error.message),
      token,
    );
  }
});
