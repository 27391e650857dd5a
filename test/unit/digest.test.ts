import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Digester, digestOf, shortId } from '../../src/digest/index.js';
import { loadNativeAddon } from '../../src/util/index.js';

const inputs: Array<[string, string | Uint8Array]> = [
  ['empty', ''],
  ['ASCII', '{"architecture":"amd64"}'],
  ['non-ASCII text', 'caf\u00e9 \u{1f600}'],
  ['bytes', Buffer.from([0, 1, 2, 255, 254])],
  ['a view into a larger buffer', Buffer.from('xxhello worldyy').subarray(2, 13)],
  ['more than one block', Buffer.alloc(100_000, 7)],
];

for (const native of [true, false]) {
  test(`digestOf matches node:crypto ${native ? 'with the native addon' : 'through node:crypto (WHARF_NATIVE=0)'}`, () => {
    const saved = process.env.WHARF_NATIVE;
    if (!native) process.env.WHARF_NATIVE = '0';
    try {
      // npm test builds the addon: its absence would be a build regression, not a fallback.
      assert.equal(loadNativeAddon('wharf_digest', () => true) !== null, native);
      for (const [what, data] of inputs) {
        for (const alg of ['sha256', 'sha512'] as const) {
          const want = `${alg}:${createHash(alg).update(data).digest('hex')}`;
          assert.equal(digestOf(data, alg), want, `${what}, ${alg}`);
          const d = new Digester(alg);
          d.update(typeof data === 'string' ? Buffer.from(data) : data);
          assert.equal(d.digest(), want, `${what}, ${alg}, incremental`);
        }
      }
    } finally {
      if (saved === undefined) delete process.env.WHARF_NATIVE;
      else process.env.WHARF_NATIVE = saved;
    }
  });
}

test('shortId: the 12 hex characters Docker prints, for a digest or a bare ID', () => {
  assert.equal(shortId('sha256:0123456789abcdef0123'), '0123456789ab');
  assert.equal(shortId('fedcba9876543210fedc'), 'fedcba987654');
});
