/** scripts/test-timeout.mjs: the default timeout every test and hook gets from scripts/run-tests.mjs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_TEST_TIMEOUT_MS,
  installTestTimeout,
  testTimeoutFromEnv,
  withHookTimeout,
  withTestTimeout,
} from '../../scripts/test-timeout.mjs';

test('WHARF_TEST_TIMEOUT_MS: milliseconds, 0 or Infinity for none, the default when unset; anything else throws', () => {
  assert.equal(testTimeoutFromEnv({}), DEFAULT_TEST_TIMEOUT_MS);
  assert.equal(testTimeoutFromEnv({ WHARF_TEST_TIMEOUT_MS: '' }), DEFAULT_TEST_TIMEOUT_MS);
  assert.equal(testTimeoutFromEnv({ WHARF_TEST_TIMEOUT_MS: '2500' }), 2500);
  assert.equal(testTimeoutFromEnv({ WHARF_TEST_TIMEOUT_MS: '0' }), Infinity);
  assert.equal(testTimeoutFromEnv({ WHARF_TEST_TIMEOUT_MS: 'Infinity' }), Infinity);
  for (const bad of ['5s', '-1', '1.5', 'off']) {
    assert.throws(() => testTimeoutFromEnv({ WHARF_TEST_TIMEOUT_MS: bad }), /must be milliseconds/, bad);
  }
});

test("a test's arguments, in each of node:test's forms, get the timeout unless they set their own", () => {
  const fn = () => {};
  assert.deepEqual(withTestTimeout(['name', fn], 9), ['name', { timeout: 9 }, fn]);
  assert.deepEqual(withTestTimeout([fn], 9), [undefined, { timeout: 9 }, fn]);
  assert.deepEqual(withTestTimeout([{ skip: 'x' }, fn], 9), [undefined, { skip: 'x', timeout: 9 }, fn]);
  assert.deepEqual(withTestTimeout(['name', { concurrency: 2 }, fn], 9), ['name', { concurrency: 2, timeout: 9 }, fn]);
  assert.deepEqual(withTestTimeout(['todo only'], 9), ['todo only', { timeout: 9 }, undefined]);
  const own = { timeout: 60_000 };
  assert.equal(withTestTimeout(['name', own, fn], 9)[1], own, 'its own timeout, the same object');
  assert.deepEqual(withTestTimeout(['name', { timeout: Infinity }, fn], 9)[1], { timeout: Infinity });
});

test("a hook's options get the timeout unless they set their own", () => {
  assert.deepEqual(withHookTimeout(undefined, 9), { timeout: 9 });
  assert.deepEqual(withHookTimeout({ signal: 's' }, 9), { signal: 's', timeout: 9 });
  assert.deepEqual(withHookTimeout({ timeout: 1 }, 9), { timeout: 1 });
});

test('installTestTimeout gives tests and hooks the default, not suites, and refuses a class of another shape', () => {
  const calls: unknown[][] = [];
  class Test {
    createSubtest(...args: unknown[]) {
      calls.push(['subtest', ...args]);
    }
    createHook(...args: unknown[]) {
      calls.push(['hook', ...args]);
    }
  }
  class Suite extends Test {}
  assert.equal(installTestTimeout(Test, 7), true);
  const fn = () => {};
  const t = new Test();
  t.createSubtest(Test, 'a test', undefined, fn, { loc: [1, 2, 'f.ts'] });
  t.createSubtest(Suite, 'a suite', undefined, fn, undefined);
  t.createHook('before', fn, { loc: [3, 4, 'f.ts'] });
  assert.deepEqual(calls, [
    ['subtest', Test, 'a test', { timeout: 7 }, fn, { loc: [1, 2, 'f.ts'] }],
    ['subtest', Suite, 'a suite', undefined, fn, undefined],
    ['hook', 'before', fn, { loc: [3, 4, 'f.ts'], timeout: 7 }],
  ]);

  assert.equal(installTestTimeout(class {}, 7), false);
  assert.equal(installTestTimeout(undefined, 7), false);
});
