/**
 * kill -9 of `build` at each named step of a RUN step (issue 16, finding 4): after the kill, the next command (another
 * build, or `system check --repair`) kills the step's container, unmounts its rootfs and removes its snapshot; nothing
 * is left behind (no mount, no runc container, no process, `system check` clean); the build succeeds when repeated.
 * And `system check --repair` never deletes a snapshot a live process still uses.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { ok } from '../helpers/cli.js';
import { withBusybox, type Fixture } from '../integration/container/fixture.js';
import { runUntilStep } from './helpers.js';

/** The kill points of a RUN step, in order; `running` stops the builder at the step's first output. */
const STEPS = ['before-run', 'running', 'before-layer', 'before-image'];
/** The first command after the kill: each must roll the killed build step back by itself. */
const NEXT: Record<string, (ctx: string) => string[]> = {
  build: (ctx) => ['build', '-q', '--no-cache', '-f', path.join(ctx, 'Other'), ctx],
  'system check --repair': () => ['system', 'check', '--repair'],
};

let f: Fixture;
let ctx = '';
before(async () => {
  f = await withBusybox('wharf-fault-build-');
  ctx = path.join(f.root, 'ctx');
  await fsp.mkdir(ctx);
  // The step prints first, then sleeps SLEEP seconds: a killed build at `running` leaves it running for good.
  await fsp.writeFile(
    path.join(ctx, 'Dockerfile'),
    'FROM busybox\nARG CASE=0\nARG SLEEP=0\nRUN echo started $CASE; sleep $SLEEP; echo $CASE > /built\n',
  );
  await fsp.writeFile(path.join(ctx, 'Other'), 'FROM busybox\nRUN echo other > /other\n');
});
after(async () => {
  await f?.cleanup();
});

const buildArgs = (n: number, sleep: number) => [
  'build',
  '--build-arg',
  `CASE=${n}`,
  '--build-arg',
  `SLEEP=${sleep}`,
  '-t',
  `built:${n}`,
  ctx,
];

/** The mount points under the root (this test's mount namespace is the builder's). */
function mountsUnderRoot(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${f.root}/`));
}

/**
 * Processes whose root file system is a mount of the Wharf root's snapshots (a RUN step still running). Not by
 * /proc/<pid>/root: a pivoted root outside this namespace's view reads as `/` there.
 */
function processesUnderRoot(): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const lines = readFileSync(`/proc/${p}/mountinfo`, 'utf8').split('\n');
      if (lines.some((l) => l.split(' ')[4] === '/' && l.includes(`${f.root}/`))) out.push(Number(p));
    } catch {}
  }
  return out;
}

function runcContainers(): string[] {
  const out = execFileSync('runc', ['--root', path.join(f.root, 'run', 'runc'), 'list', '-q'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

/** What is left after a case: empty when nothing of the killed build remains and `system check` is clean. */
async function leftovers(): Promise<string[]> {
  const out: string[] = [];
  for (const m of mountsUnderRoot()) out.push(`mounted: ${m}`);
  for (const p of processesUnderRoot()) out.push(`process ${p} runs in the root`);
  for (const c of runcContainers()) out.push(`runc container ${c}`);
  const dirs = await fsp.readdir(path.join(f.root, 'run', 'build')).catch(() => []);
  for (const d of dirs) out.push(`build directory ${d}`);
  const check = await f.cli(['system', 'check']);
  if (check.code !== 0 || !check.stdout.includes('no problems')) out.push(`system check: ${check.stdout.trim()}`);
  return out;
}

const results: { step: string; next: string; left: string[] }[] = [];
let n = 0;

for (const step of STEPS) {
  for (const [next, args] of Object.entries(NEXT)) {
    test(`build killed at ${step}, then ${next}: nothing left running or mounted, the build repeats`, async () => {
      const c = ++n;
      const stopped = await runUntilStep(f.root, buildArgs(c, step === 'running' ? 1000 : 0), `build:${step}`);
      await stopped.kill();
      ok(await f.cli(args(ctx)), next);
      const left = await leftovers();
      results.push({ step, next, left });
      assert.deepEqual(left, []);
      ok(await f.cli(buildArgs(c, 0)), 'the repeated build');
      const built = ok(await f.cli(['run', '--rm', `built:${c}`, 'cat', '/built']), 'run the image').stdout;
      assert.equal(built.trim(), String(c));
      assert.deepEqual(await leftovers(), []);
    });
  }
}

test('system check names the running step and its mount; --repair kills, unmounts and removes them', async () => {
  const c = ++n;
  const stopped = await runUntilStep(f.root, buildArgs(c, 1000), 'build:running');
  await stopped.kill();
  assert.ok(processesUnderRoot().length > 0, 'the RUN step runs on after its builder is gone');
  const check = await f.cli(['system', 'check']);
  assert.equal(check.code, 1);
  assert.match(check.stdout, /unfinished build step build-[0-9a-f]+ by process \d+ \(gone\)/);
  assert.match(check.stdout, /build container [0-9a-f]{12} running/);
  assert.match(check.stdout, /mount on \S+rootfs/);
  assert.ok(processesUnderRoot().length > 0, 'the check alone changes nothing');
  ok(await f.cli(['system', 'check', '--repair']), 'repair');
  assert.deepEqual(await leftovers(), []);
});

test('system check --repair leaves alone a snapshot a live process uses, even with no record of why', async () => {
  const c = ++n;
  const stopped = await runUntilStep(f.root, buildArgs(c, 1000), 'build:running');
  await stopped.kill();
  // As a build from before intents: only the snapshot's labels tell of it, and they say its builder is dead.
  const db = new Database(path.join(f.root, 'wharf.db'));
  const rows = db.prepare("SELECT payload FROM intents WHERE kind = 'build-step'").all() as { payload: string }[];
  db.prepare("DELETE FROM intents WHERE kind = 'build-step'").run();
  db.close();
  assert.equal(rows.length, 1);
  const { snapshot, container } = JSON.parse(rows[0]!.payload) as { snapshot: string; container: string };
  const pids = processesUnderRoot();
  assert.ok(pids.length > 0);
  const check = await f.cli(['system', 'check', '--repair']);
  assert.match(check.stdout, new RegExp(`snapshot ${snapshot} belongs to nothing but is in use`));
  for (const p of pids) assert.ok(readFileSync(`/proc/${p}/stat`, 'utf8').length > 0, `process ${p} still runs`);
  // Its files are still there for it: the step can still write its result.
  execFileSync('runc', ['--root', path.join(f.root, 'run', 'runc'), 'exec', container, 'sh', '-c', 'echo ok > /probe']);
  // The next build's sweep (the labels' path) ends it.
  ok(await f.cli(['build', '-q', '--no-cache', '-f', path.join(ctx, 'Other'), ctx]), 'the next build');
  assert.deepEqual(await leftovers(), []);
});

test('kill points summary', (t) => {
  const dirty = results.filter((r) => r.left.length);
  t.diagnostic(
    `build kill cases: ${results.length} (${STEPS.length} kill points x ${Object.keys(NEXT).length} next commands), left something behind: ${dirty.length}`,
  );
  assert.equal(dirty.length, 0);
});
