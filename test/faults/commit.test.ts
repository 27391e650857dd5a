/**
 * kill -9 of `commit` at each of its named steps (issue 16): after the kill, the next command that touches the
 * container works and finds it running, not frozen; nothing is left behind (`system check` is clean); the commit
 * succeeds when repeated.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { ok } from '../helpers/cli.js';
import { withBusybox, type Fixture } from '../integration/container/fixture.js';
import { runUntilStep } from './helpers.js';

const STEPS = ['after-pause', 'writing-layer', 'after-layer', 'after-image'];
/** The first command after the kill: each must roll the killed commit back by itself. */
const NEXT: Record<string, (name: string) => string[]> = {
  inspect: (n) => ['inspect', '-f', '{{.State.Status}}', n],
  exec: (n) => ['exec', n, 'true'],
  commit: (n) => ['commit', n, 'again'],
  'system check --repair': () => ['system', 'check', '--repair'],
};

let f: Fixture;
let id = '';
const NAME = 'victim';
before(async () => {
  f = await withBusybox('wharf-fault-commit-');
  // A few MB in the writable layer, so that `writing-layer` (after 512 KiB of the layer's tar) is mid-write.
  id = ok(
    await f.cli([
      'run',
      '-d',
      '--name',
      NAME,
      'busybox',
      'sh',
      '-c',
      'dd if=/dev/zero of=/data bs=1M count=4 2>/dev/null; touch /ready; sleep 100000',
    ]),
    'run',
  ).stdout.trim();
  for (let i = 0; i < 100; i++) {
    if ((await f.cli(['exec', NAME, 'test', '-e', '/ready'])).code === 0) break;
  }
});
after(async () => {
  await f?.cleanup();
});

function runcStatus(): string {
  const out = execFileSync('runc', ['--root', path.join(f.root, 'run', 'runc'), 'state', id], { encoding: 'utf8' });
  return (JSON.parse(out) as { status: string }).status;
}

/** What is wrong after a case: empty when the container runs unfrozen and `system check` is clean. */
async function leftovers(): Promise<string[]> {
  const out: string[] = [];
  const status = runcStatus();
  if (status !== 'running') out.push(`runc says ${status}`);
  const check = await f.cli(['system', 'check']);
  if (check.code !== 0 || !check.stdout.includes('no problems')) out.push(`system check: ${check.stdout.trim()}`);
  return out;
}

const results: { step: string; next: string; left: string[] }[] = [];

for (const step of STEPS) {
  for (const [next, args] of Object.entries(NEXT)) {
    test(`commit killed at ${step}, then ${next}: container running and unfrozen, nothing left, commit repeats`, async () => {
      const stopped = await runUntilStep(f.root, ['commit', NAME, `img-${step}`], `commit:${step}`);
      await stopped.kill();
      ok(await f.cli(args(NAME)), next);
      const left = await leftovers();
      results.push({ step, next, left });
      assert.deepEqual(left, []);
      assert.equal(ok(await f.cli(['inspect', '-f', '{{.State.Status}}', NAME]), 'inspect').stdout.trim(), 'running');
      ok(await f.cli(['exec', NAME, 'true']), 'exec after the kill');
      ok(await f.cli(['commit', NAME, `img-${step}`]), 'the repeated commit');
      assert.equal(runcStatus(), 'running');
      assert.deepEqual(await leftovers(), []);
    });
  }
}

test('a commit waiting for the lock of a commit killed at after-pause goes on and succeeds', async () => {
  const stopped = await runUntilStep(f.root, ['commit', NAME, 'first'], 'commit:after-pause');
  const second = f.cli(['commit', NAME, 'second']);
  await stopped.kill();
  ok(await second, 'the waiting commit');
  assert.equal(runcStatus(), 'running');
  assert.deepEqual(await leftovers(), []);
});

test('two commits of one container at once both succeed, one after the other, and leave it running', async () => {
  const [a, b] = await Promise.all([f.cli(['commit', NAME, 'par-a']), f.cli(['commit', NAME, 'par-b'])]);
  ok(a, 'commit a');
  ok(b, 'commit b');
  assert.equal(runcStatus(), 'running');
  assert.deepEqual(await leftovers(), []);
});

test('system check reports a killed commit and the frozen container, and --repair undoes both', async () => {
  const stopped = await runUntilStep(f.root, ['commit', NAME, 'img-check'], 'commit:writing-layer');
  await stopped.kill();
  const check = await f.cli(['system', 'check']);
  assert.equal(check.code, 1);
  assert.match(check.stdout, /unfinished commit of [0-9a-f]{12} by process \d+ \(gone\)/);
  assert.match(check.stdout, /is frozen by runc, but neither paused nor being committed/);
  assert.equal(runcStatus(), 'paused'); // the check alone changes nothing
  ok(await f.cli(['system', 'check', '--repair']), 'repair');
  assert.equal(runcStatus(), 'running');
  assert.deepEqual(await leftovers(), []);
});

test('kill points summary', (t) => {
  const dirty = results.filter((r) => r.left.length);
  t.diagnostic(
    `commit kill cases: ${results.length} (${STEPS.length} kill points x ${Object.keys(NEXT).length} next commands), left something behind: ${dirty.length}`,
  );
  assert.equal(dirty.length, 0);
});
