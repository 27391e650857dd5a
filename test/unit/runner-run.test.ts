/**
 * scripts/run-tests.mjs end to end, on throwaway test files: a skip not on the allow-list fails a CI run (and only a
 * CI run), one on it does not, node's closing summary is still printed, and a hung test fails by name while the
 * rest of its file goes on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { runRunner, withFixture } from './runner-fixture.js';

const SKIPPING = `
import { test } from 'node:test';
test('passes', () => {});
test('needs a peer', (t) => { t.skip('the peer did not start'); });
`;

test('under CI a skip fails the run unless the allow-list names it; elsewhere it is only reported', async () => {
  await withFixture({ 'a.test.ts': SKIPPING, 'empty.json': '{ "allowed": [] }' }, async (dir) => {
    const allowing = path.join(dir, 'allowing.json');
    await fsp.writeFile(
      allowing,
      JSON.stringify({ allowed: [{ skip: 'the peer did not start', why: 'a test of the runner' }] }),
    );
    const empty = path.join(dir, 'empty.json');
    const [ciDenied, ciAllowed, local] = await Promise.all([
      runRunner(dir, { CI: 'true', WHARF_TEST_SKIP_ALLOWLIST: empty }),
      runRunner(dir, { CI: 'true', WHARF_TEST_SKIP_ALLOWLIST: allowing }),
      runRunner(dir, { WHARF_TEST_SKIP_ALLOWLIST: empty }),
    ]);

    assert.equal(ciDenied.code, 1, ciDenied.stderr);
    assert.match(ciDenied.stderr, /error: 1 skipped test\(s\) not on .*empty\.json/);
    assert.match(ciDenied.stderr, /a\.test\.ts: "needs a peer" \(the peer did not start\)/);
    // Node's own report, with the closing lines CI reads, comes first and unchanged.
    assert.match(ciDenied.stdout, /^# pass 1$/m);
    assert.match(ciDenied.stdout, /^# fail 0$/m);
    assert.match(ciDenied.stdout, /^# skipped 1$/m);

    assert.equal(ciAllowed.code, 0, ciAllowed.stderr);
    assert.doesNotMatch(ciAllowed.stderr, /skipped test/);

    assert.equal(local.code, 0, local.stderr);
    assert.match(local.stderr, /note: 1 skipped test\(s\) not on/);
  });
});

test('a hung test fails by name after the default timeout, and the tests after it still run', async () => {
  const hanging = `
import { test, before } from 'node:test';
before(() => {});
// Waits far longer than its timeout (on a timer, which keeps the process alive as a hung peer would).
test('hangs', () => new Promise((r) => setTimeout(r, 3_000)));
test('sets its own timeout', { timeout: 5_000 }, () => new Promise((r) => setTimeout(r, 600)));
test('runs after it', () => {});
`;
  await withFixture({ 'h.test.ts': hanging, 'empty.json': '{ "allowed": [] }' }, async (dir) => {
    const t0 = Date.now();
    const r = await runRunner(dir, {
      WHARF_TEST_TIMEOUT_MS: '400',
      WHARF_TEST_SKIP_ALLOWLIST: path.join(dir, 'empty.json'),
    });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^not ok 1 - hangs$/m);
    assert.match(r.stdout, /test timed out after 400ms/);
    assert.match(r.stdout, /location: '.*h\.test\.ts:\d+:\d+'/, 'declared in the test file, not in the timeout code');
    assert.match(r.stdout, /^ok 2 - sets its own timeout$/m);
    assert.match(r.stdout, /^ok 3 - runs after it$/m);
    assert.ok(Date.now() - t0 < 20_000);
  });
});

test('a malformed WHARF_TEST_TIMEOUT_MS stops the run before any test', async () => {
  await withFixture({ 'a.test.ts': SKIPPING }, async (dir) => {
    const r = await runRunner(dir, { WHARF_TEST_TIMEOUT_MS: '5s' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /WHARF_TEST_TIMEOUT_MS must be milliseconds/);
    assert.doesNotMatch(r.stdout, /# pass/);
  });
});
