// A default timeout for every test and hook, installed into node:test by scripts/test-timeout-preload.mjs.
//
// Why not node's --test-timeout alone: on Node 20 it bounds each test *file* as a whole (nodejs/node#50431; made per
// test only in later releases by nodejs/node#57672), so one hung test shows up as its file being cancelled, after
// the file's other tests, without a name. With this default the hung test itself fails, named, and the file goes on.
// A test or hook that sets its own `timeout` keeps it; suites (describe) get none, their tests and hooks have one.
//
// Why node:test's internal Test class and not a wrapper around `test`/`it`: node:test records where a test was
// declared (file, line: what reporters print and what the skip allow-list matches) as the caller of `test()`, so a
// wrapper would make every test appear to be declared in the wrapper. Test.prototype.createSubtest and createHook are
// called by node:test itself after it has taken that location. The preload checks that they exist and otherwise
// leaves node:test alone with a warning (only the per-file timeout then applies).

/** Long enough for the slowest real integration test on a loaded 2-core machine (see docs/development.md). */
export const DEFAULT_TEST_TIMEOUT_MS = 180_000;

/**
 * The per-test timeout from WHARF_TEST_TIMEOUT_MS: a positive number of milliseconds, or 0 / `Infinity` for none.
 * Throws on anything else, so that a typo does not silently turn the timeout off.
 */
export function testTimeoutFromEnv(env) {
  const raw = env.WHARF_TEST_TIMEOUT_MS;
  if (raw === undefined || raw === '') return DEFAULT_TEST_TIMEOUT_MS;
  if (raw === '0' || raw === 'Infinity') return Infinity;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0)
    throw new Error(`WHARF_TEST_TIMEOUT_MS must be milliseconds, 0 or Infinity, not ${JSON.stringify(raw)}`);
  return ms;
}

const isOptions = (v) => v !== null && typeof v === 'object';

/**
 * A test's `[name][, options][, fn]` (read as node:test reads them) as `[name, options, fn]` with `timeout` defaulted
 * to `ms` unless the test set its own.
 */
export function withTestTimeout([name, options, fn], ms) {
  if (typeof name === 'function') [name, options, fn] = [undefined, undefined, name];
  else if (isOptions(name)) [name, options, fn] = [undefined, name, options];
  else if (typeof options === 'function') [options, fn] = [undefined, options];
  if (isOptions(options) && options.timeout !== undefined) return [name, options, fn];
  return [name, { ...options, timeout: ms }, fn];
}

/** A hook's options with `timeout` defaulted to `ms` unless the hook set its own. */
export function withHookTimeout(options, ms) {
  if (isOptions(options) && options.timeout !== undefined) return options;
  return { ...options, timeout: ms };
}

/**
 * Makes `Test` (node:test's internal class, `require('internal/test_runner/test').Test`) give a default timeout to
 * every test it creates (not to suites nor to the per-file tests of the runner's own process) and every hook.
 * Returns false, changing nothing, when the class does not have the shape this relies on.
 */
export function installTestTimeout(Test, ms) {
  const proto = Test?.prototype;
  if (typeof proto?.createSubtest !== 'function' || typeof proto.createHook !== 'function') return false;
  if (ms === Infinity) return true;
  const { createSubtest, createHook } = proto;
  proto.createSubtest = function (Factory, name, options, fn, overrides) {
    if (Factory !== Test) return createSubtest.call(this, Factory, name, options, fn, overrides);
    return createSubtest.call(this, Factory, ...withTestTimeout([name, options, fn], ms), overrides);
  };
  proto.createHook = function (name, fn, options) {
    return createHook.call(this, name, fn, withHookTimeout(options, ms));
  };
  return true;
}
