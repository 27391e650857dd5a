import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stats } from 'node:fs';
import { MetaDb } from '../../../src/meta/index.js';
import { BuildCache, FileDigestMemo, cacheKey } from '../../../src/build/cache.js';
import type { Digest } from '../../../src/digest/index.js';

const old = Date.now() - 60_000;
const st = (over: Partial<Stats> = {}): Stats =>
  ({ dev: 1, ino: 2, size: 3, mode: 0o100644, mtimeMs: old, ctimeMs: old, ...over }) as Stats;

test('cache keys: parent, recorded command and extras all count', () => {
  const base = { parent: 'sha256:aa' as Digest, createdBy: '/bin/sh -c make' };
  const k = cacheKey(base);
  assert.equal(cacheKey({ ...base }), k);
  assert.notEqual(cacheKey({ ...base, parent: 'sha256:bb' as Digest }), k);
  assert.notEqual(cacheKey({ ...base, createdBy: '|1 A=1 /bin/sh -c make' }), k);
  assert.notEqual(cacheKey({ ...base, extra: { chmod: '600' } }), k);
  assert.notEqual(cacheKey({ ...base, parent: null }), k);
});

test('a cache entry hits only while its image exists', () => {
  const db = new MetaDb(':memory:');
  const alive = new Set<string>(['sha256:img1']);
  const cache = new BuildCache(db, (id) => alive.has(id));
  cache.record('k1', 'sha256:img1' as Digest, null, 'x');
  cache.record('k2', 'sha256:gone' as Digest, null, 'y');
  assert.equal(cache.lookup('k1'), 'sha256:img1');
  assert.equal(cache.lookup('k2'), undefined);
  assert.equal(cache.lookup('k3'), undefined);
  assert.equal(cache.forgetMissing(), 1);
  assert.deepEqual(
    cache.list().map((e) => e.key),
    ['k1'],
  );
  db.close();
});

test('file digest memo: reused while the stat signature holds, never for files changed just now', () => {
  const db = new MetaDb(':memory:');
  const memo = new FileDigestMemo(db);
  memo.set('/ctx/a', st(), 'd1');
  memo.flush();
  assert.equal(memo.get('/ctx/a', st()), 'd1');
  assert.equal(memo.get('/ctx/a', st({ size: 4 })), undefined);
  assert.equal(memo.get('/ctx/a', st({ mtimeMs: old + 1 })), undefined);
  assert.equal(memo.get('/ctx/a', st({ ctimeMs: old + 1 })), undefined);
  assert.equal(memo.get('/ctx/a', st({ ino: 9 })), undefined);
  memo.set('/ctx/b', st({ mtimeMs: Date.now(), ctimeMs: Date.now() }), 'd2');
  memo.flush();
  assert.equal(memo.get('/ctx/b', st({ mtimeMs: Date.now(), ctimeMs: Date.now() })), undefined);
  memo.clear();
  assert.equal(memo.get('/ctx/a', st()), undefined);
  db.close();
});
