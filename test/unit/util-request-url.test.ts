import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestUrl } from '../../src/util/index.js';

test('requestUrl: a target that starts with // is a path, never a host; one that cannot be a URL is undefined', () => {
  const o = 'http://x.invalid';
  assert.equal(requestUrl('//', o)?.pathname, '//');
  assert.equal(requestUrl('//sha512:zz?n=1', o)?.pathname, '//sha512:zz');
  assert.equal(requestUrl('//evil.example/v2/', o)?.host, 'x.invalid');
  assert.equal(requestUrl('/v2/a/tags/list?n=2', o)?.searchParams.get('n'), '2');
  assert.equal(requestUrl(undefined, o)?.pathname, '/');
  assert.equal(requestUrl('http://[', o), undefined);
});
