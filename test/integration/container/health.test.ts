/**
 * Health checks run by the container's monitor (native/monitor/health.c) with real runc: the probe as `runc exec`,
 * its results in State.Health, the status in ps and its filter, the timeout's kill, `--no-healthcheck`. Polls are
 * bounded loops; nothing asserts how long a step took.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ok } from '../../helpers/cli.js';
import { withBusybox, type Fixture } from './fixture.js';

interface Health {
  Status: string;
  FailingStreak: number;
  Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }>;
}

let f: Fixture;
before(async () => {
  f = await withBusybox('wharf-health-');
  const ctx = await fsp.mkdtemp(path.join(f.root, 'ctx-'));
  await fsp.writeFile(
    path.join(ctx, 'Dockerfile'),
    'FROM busybox\nHEALTHCHECK --interval=1s --timeout=5s --retries=2 CMD ["true"]\nCMD ["sleep", "600"]\n',
  );
  ok(await f.cli(['build', '-q', '-t', 'hc', ctx]), 'build an image with a HEALTHCHECK');
});
after(async () => {
  await f?.cleanup();
});

async function health(name: string): Promise<Health | null> {
  return JSON.parse(ok(await f.cli(['inspect', '-f', '{{json .State.Health}}', name]), 'inspect').stdout) as Health;
}

/** Inspect until `done` holds (at most ~60 s): the last State.Health. */
async function waitHealth(name: string, done: (h: Health) => boolean): Promise<Health> {
  let h: Health | null = null;
  for (let i = 0; i < 300; i++) {
    h = await health(name);
    if (h && done(h)) return h;
    await sleep(200);
  }
  assert.fail(`${name}: health never got there: ${JSON.stringify(h)}`);
}

async function psStatus(name: string, filter: string[] = []): Promise<string[]> {
  const out = ok(await f.cli(['ps', '-a', ...filter, '--format', '{{.Names}}\t{{.Status}}']), 'ps').stdout;
  return out
    .split('\n')
    .filter(Boolean)
    .filter((l) => l.startsWith(`${name}\t`));
}

/** The `runc exec` processes on the host for a container, by their command lines. */
async function probesOf(id: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await fsp.readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const argv = cmd.split('\0');
    if (argv.includes('exec') && argv.includes(id) && argv.some((a) => a.endsWith('runc'))) found.push(cmd);
  }
  return found;
}

test('a check that passes: starting, then healthy; ps shows it and filters on it', async () => {
  const id = ok(
    await f.cli([
      'run',
      '-d',
      '--name',
      'good',
      '--health-cmd',
      'echo ok',
      '--health-interval',
      '1s',
      'busybox',
      'sleep',
      '600',
    ]),
    'run',
  ).stdout.trim();
  const config = JSON.parse(ok(await f.cli(['inspect', '-f', '{{json .Config.Healthcheck}}', id]), 'config').stdout);
  assert.deepEqual(config, { Test: ['CMD-SHELL', 'echo ok'], Interval: 1e9 });
  const h = await waitHealth('good', (x) => x.Status === 'healthy');
  assert.equal(h.FailingStreak, 0);
  assert.ok(h.Log.length >= 1 && h.Log.length <= 5);
  const last = h.Log.at(-1)!;
  assert.deepEqual(Object.keys(last), ['Start', 'End', 'ExitCode', 'Output']);
  assert.equal(last.ExitCode, 0);
  assert.equal(last.Output, 'ok\n');
  assert.match(last.Start, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
  assert.ok(Date.parse(last.End) >= Date.parse(last.Start));
  const [line] = await psStatus('good');
  assert.match(line!, /\tUp .+ \(healthy\)$/);
  assert.equal((await psStatus('good', ['--filter', 'health=healthy'])).length, 1);
  assert.equal((await psStatus('good', ['--filter', 'health=unhealthy'])).length, 0);
  assert.equal((await psStatus('good', ['--filter', 'health=none'])).length, 0);
  const bad = await f.cli(['ps', '--filter', 'health=fine']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Unrecognised filter value for health: fine/);

  // The monitor's events, as Docker's: every probe's exec_create/exec_start/exec_die, and the change of status.
  const events = (await fsp.readFile(path.join(f.root, 'events.log'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { id: string; Action: string; Actor: { Attributes: Record<string, string> } })
    .filter((e) => e.id === id);
  const actions = events.map((e) => e.Action);
  assert.ok(actions.includes('health_status: healthy'), actions.join(', '));
  assert.ok(!actions.includes('health_status: starting'));
  const create = events.find((e) => e.Action === 'exec_create: /bin/sh -c echo ok')!;
  const execId = create.Actor.Attributes.execID!;
  assert.match(execId, /^[0-9a-f]{64}$/);
  assert.deepEqual(
    events.filter((e) => e.Actor.Attributes.execID === execId).map((e) => e.Action),
    ['exec_create: /bin/sh -c echo ok', 'exec_start: /bin/sh -c echo ok', 'exec_die'],
  );
  assert.equal(events.find((e) => e.Action === 'exec_die')!.Actor.Attributes.exitCode, '0');

  // Stopped: the probe is gone with the container, and the status reads unhealthy as Docker's does.
  ok(await f.cli(['stop', '-t', '1', 'good']), 'stop');
  assert.deepEqual(await probesOf(id), []);
  assert.equal((await health('good'))?.Status, 'unhealthy');
  assert.match((await psStatus('good'))[0]!, /\tExited \(\d+\) /);

  // Started again: starting afresh (streak 0) with the results of the run before kept, as Docker keeps them.
  const before = (await health('good'))!;
  ok(await f.cli(['start', 'good']), 'start');
  const again = await waitHealth('good', (x) => x.Status === 'starting' || x.Status === 'healthy');
  assert.equal(again.FailingStreak, 0);
  assert.ok(
    again.Log.some((r) => r.Start === before.Log.at(-1)!.Start),
    'the last result of the run before is kept',
  );
  ok(await f.cli(['rm', '-f', 'good']), 'rm');
});

test('a check that fails with --health-retries 2: unhealthy, the streak counts on, five results at most', async () => {
  ok(
    await f.cli([
      'run',
      '-d',
      '--name',
      'bad',
      '--health-cmd',
      'echo no; exit 3',
      '--health-interval',
      '100ms',
      '--health-retries',
      '2',
      'busybox',
      'sleep',
      '600',
    ]),
    'run',
  );
  const first = await waitHealth('bad', (x) => x.Status === 'unhealthy');
  assert.ok(first.FailingStreak >= 2);
  const h = await waitHealth('bad', (x) => x.FailingStreak >= 7);
  assert.equal(h.Status, 'unhealthy');
  assert.equal(h.Log.length, 5);
  for (const r of h.Log) assert.deepEqual([r.ExitCode, r.Output], [3, 'no\n']);
  assert.match((await psStatus('bad'))[0]!, /\(unhealthy\)$/);
  assert.equal((await psStatus('bad', ['--filter', 'health=unhealthy'])).length, 1);
  ok(await f.cli(['rm', '-f', 'bad']), 'rm');
});

test('a check that outlives --health-timeout is killed and recorded as Docker records it', async () => {
  const id = ok(
    await f.cli([
      'run',
      '-d',
      '--name',
      'slow',
      '--health-cmd',
      'sleep 300',
      '--health-timeout',
      '500ms',
      '--health-interval',
      '200ms',
      'busybox',
      'sleep',
      '600',
    ]),
    'run',
  ).stdout.trim();
  const h = await waitHealth('slow', (x) => x.Log.length >= 2);
  assert.deepEqual(
    { ExitCode: h.Log[0]!.ExitCode, Output: h.Log[0]!.Output },
    { ExitCode: -1, Output: 'Health check exceeded timeout (500ms)' },
  );
  // The killed probes are gone from the container (only a running one may be there).
  const ps = ok(await f.cli(['exec', 'slow', 'ps', '-o', 'pid,args']), 'ps in the container').stdout;
  assert.ok(ps.split('\n').filter((l) => l.includes('sleep 300')).length <= 1, ps);
  ok(await f.cli(['rm', '-f', 'slow']), 'rm');
  assert.deepEqual(await probesOf(id), [], 'no runc exec left behind');
});

test("the image's HEALTHCHECK runs; --no-healthcheck disables it; --health-* merge with it", async () => {
  ok(await f.cli(['run', '-d', '--name', 'img', 'hc']), 'run hc');
  const h = await waitHealth('img', (x) => x.Status === 'healthy');
  assert.equal(h.Log.at(-1)!.Output, '');

  ok(await f.cli(['run', '-d', '--name', 'off', '--no-healthcheck', 'hc']), 'run --no-healthcheck');
  const off = JSON.parse(
    ok(await f.cli(['inspect', '-f', '{{json .Config.Healthcheck}}|{{json .State.Health}}', 'off']), 'inspect')
      .stdout.trim()
      .split('|')[0]!,
  );
  assert.deepEqual(off, { Test: ['NONE'], Interval: 1e9, Timeout: 5e9, Retries: 2 });
  assert.equal(await health('off'), null);
  assert.match((await psStatus('off'))[0]!, /\tUp [^(]+$/);
  assert.equal((await psStatus('off', ['--filter', 'health=none'])).length, 1);

  ok(await f.cli(['create', '--name', 'merged', '--health-interval', '2s', 'hc']), 'create');
  const merged = JSON.parse(ok(await f.cli(['inspect', '-f', '{{json .Config.Healthcheck}}', 'merged']), 'i').stdout);
  assert.deepEqual(merged, { Test: ['CMD', 'true'], Interval: 2e9, Timeout: 5e9, Retries: 2 });
  assert.equal(await health('merged'), null, 'no health before the start');
  for (const n of ['img', 'off', 'merged']) ok(await f.cli(['rm', '-f', n]), 'rm');
});

test('the start period: failures do not count until the first success; the start interval runs the checks meanwhile', async () => {
  const run = (name: string, cmd: string) =>
    f.cli([
      'run',
      '-d',
      '--name',
      name,
      '--health-cmd',
      cmd,
      '--health-interval',
      '1h',
      '--health-start-period',
      '1h',
      '--health-start-interval',
      '200ms',
      'busybox',
      'sleep',
      '600',
    ]);
  ok(await run('early-bad', 'exit 1'), 'run');
  ok(await run('early-good', 'true'), 'run');
  // Only the start interval can run these probes within the test (the interval is an hour).
  const bad = await waitHealth('early-bad', (x) => x.Log.length >= 3);
  assert.deepEqual([bad.Status, bad.FailingStreak], ['starting', 0]);
  const good = await waitHealth('early-good', (x) => x.Status === 'healthy');
  assert.equal(good.Log.length, 1, 'healthy: the interval applies from then on');
  for (const n of ['early-bad', 'early-good']) ok(await f.cli(['rm', '-f', n]), 'rm');
});

test('pausing stops the checks (unhealthy, as Docker); unpausing starts them afresh', async () => {
  ok(
    await f.cli([
      'run',
      '-d',
      '--name',
      'pz',
      '--health-cmd',
      'echo ok',
      '--health-interval',
      '200ms',
      'busybox',
      'sleep',
      '600',
    ]),
    'run',
  );
  await waitHealth('pz', (x) => x.Status === 'healthy');
  ok(await f.cli(['pause', 'pz']), 'pause');
  const paused = await waitHealth('pz', (x) => x.Status === 'unhealthy');
  assert.equal(paused.FailingStreak, 0);
  assert.match((await psStatus('pz'))[0]!, /\tUp .+ \(Paused\)$/);
  ok(await f.cli(['unpause', 'pz']), 'unpause');
  const again = await waitHealth('pz', (x) => x.Status === 'healthy' && x.Log.length > paused.Log.length);
  assert.equal(again.FailingStreak, 0);
  ok(await f.cli(['rm', '-f', 'pz']), 'rm');
});

// As docker create: 125 for what the CLI refuses, 1 for what the daemon refuses.
test('bad --health-* values fail with the docker CLI and daemon messages and exit codes', async () => {
  const cases: Array<[string[], string, number]> = [
    [['--health-interval', '-1s'], '--health-interval cannot be negative', 125],
    [['--health-retries', '-1'], '--health-retries cannot be negative', 125],
    [['--no-healthcheck', '--health-cmd', 'true'], '--no-healthcheck conflicts with --health-* options', 125],
    [['--health-timeout', '100us'], 'Timeout in Healthcheck cannot be less than 1ms', 1],
    [['--health-interval', 'x'], 'invalid argument "x" for "--health-interval" flag: time: invalid duration "x"', 125],
  ];
  for (const [flags, message, code] of cases) {
    const r = await f.cli(['create', ...flags, 'busybox', 'true']);
    assert.equal(r.code, code, flags.join(' '));
    assert.ok(r.stderr.includes(message), `${flags.join(' ')}: ${r.stderr}`);
  }
});
