import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logAttributes, logDetailsPrefix } from '../../../src/container/index.js';

test('logAttributes: the labels and env vars the log opts name or match, as json-file records them', () => {
  const lc = {
    Type: 'json-file',
    Config: { labels: 'a,missing', 'labels-regex': '^x', env: 'FOO', 'env-regex': '^B' },
  };
  const attrs = logAttributes(lc, { a: '1', b: '2', xy: '3' }, ['FOO=f=1', 'BAR=b', 'OTHER=o', 'NOVALUE']);
  assert.deepEqual(attrs, { a: '1', xy: '3', FOO: 'f=1', BAR: 'b' });
  assert.deepEqual(logAttributes(undefined, { a: '1' }, ['A=1']), {});
});

test('logDetailsPrefix: sorted, query-escaped k=v joined by commas, then a space (alone when none)', () => {
  assert.equal(logDetailsPrefix({}), ' ');
  assert.equal(logDetailsPrefix({ b: 'x y', a: 'p/q,r' }), 'a=p%2Fq%2Cr,b=x+y ');
  assert.equal(logDetailsPrefix({ k: "it's!" }), 'k=it%27s%21 ');
});
