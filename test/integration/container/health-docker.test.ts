/**
 * Health checks side by side with a real dockerd (20.10, classic builder): the same steps on both engines, then the
 * shapes compared: Config.Healthcheck, State.Health (keys, status, streak, results' exit codes and output), ps's
 * STATUS text and its health filter, the HEALTHCHECK step's history line, the status after a stop, and the exit codes
 * and messages of bad flags. Times and IDs differ; polls are bounded loops.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ok, type CliResult } from '../../helpers/cli.js';
import { dockerdAvailable, startDockerd, type Dockerd } from '../../helpers/dockerd.js';
import { withBusybox, type Fixture } from './fixture.js';

process.env.DOCKER_BUILDKIT = '0';
type Engine = (args: string[]) => Promise<CliResult>;

interface Health {
  Status: string;
  FailingStreak: number;
  Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }>;
}

let f: Fixture;
let d: Dockerd;
let wharf: Engine;
let docker: Engine;

before(async () => {
  if (!dockerdAvailable()) throw new Error('dockerd is not installed');
  f = await withBusybox('wharf-health-docker-');
  d = await startDockerd();
  wharf = (args) => f.cli(args);
  docker = (args) => d.docker(args);
  const archive = path.join(f.root, 'busybox-save.tar');
  ok(await f.cli(['save', 'busybox', '-o', archive]), 'save busybox');
  ok(await d.docker(['load', '-i', archive]), 'docker load busybox');
  const ctx = await fsp.mkdtemp(path.join(f.root, 'ctx-'));
  await fsp.writeFile(
    path.join(ctx, 'Dockerfile'),
    'FROM busybox\nHEALTHCHECK --interval=1s --timeout=5s --retries=2 CMD ["true"]\nCMD ["sleep", "600"]\n',
  );
  for (const e of [wharf, docker]) ok(await e(['build', '-q', '-t', 'hc', ctx]), 'build hc');
  await fsp.writeFile(
    path.join(ctx, 'Dockerfile'),
    'FROM busybox\nHEALTHCHECK --interval=1s CMD ["nonexistent"]\nCMD ["sleep", "600"]\n',
  );
  for (const e of [wharf, docker]) ok(await e(['build', '-q', '-t', 'hc-missing', ctx]), 'build hc-missing');
});
after(async () => {
  for (const e of [docker, wharf]) {
    if (!e) continue;
    const ids = (await e(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await e(['rm', '-f', ...ids]);
  }
  await d?.stop();
  await f?.cleanup();
});

const both = async (args: string[]): Promise<[CliResult, CliResult]> => [
  ok(await wharf(args), `wharf ${args.join(' ')}`),
  ok(await docker(args), `docker ${args.join(' ')}`),
];

async function inspect(e: Engine, name: string, what: string): Promise<unknown> {
  return JSON.parse(ok(await e(['inspect', '-f', `{{json ${what}}}`, name]), 'inspect').stdout);
}

async function waitHealth(e: Engine, name: string, done: (h: Health) => boolean): Promise<Health> {
  let h: Health | null = null;
  for (let i = 0; i < 300; i++) {
    h = (await inspect(e, name, '.State.Health')) as Health | null;
    if (h && done(h)) return h;
    await sleep(200);
  }
  assert.fail(`${name}: health never got there: ${JSON.stringify(h)}`);
}

interface DockerEvent {
  Action: string;
  Actor: { Attributes: Record<string, string> };
}

/** A container's first probe's exec events and its first health_status, with their attribute names. */
function healthEvents(events: DockerEvent[], name: string): string[] {
  const mine = events.filter((e) => e.Actor.Attributes.name === name);
  const firstExec = mine.find((e) => e.Action.startsWith('exec_create'))?.Actor.Attributes.execID;
  const probe = mine.filter((e) => e.Actor.Attributes.execID === firstExec);
  const status = mine.find((e) => e.Action.startsWith('health_status'));
  return [...probe, ...(status ? [status] : [])].map((e) => `${e.Action} ${Object.keys(e.Actor.Attributes).sort()}`);
}

/** ps's STATUS with the time replaced: "Up X (healthy)". */
async function psStatus(e: Engine, name: string): Promise<string> {
  const out = ok(await e(['ps', '-a', '--filter', `name=^${name}$`, '--format', '{{.Status}}']), 'ps').stdout.trim();
  return out.replace(/^Up .+?( \(|$)/, 'Up X$1').replace(/^Exited \((\d+)\) .+ ago$/, 'Exited ($1) X ago');
}

/** The names ps lists for a filter, sorted. */
async function psNames(e: Engine, filter: string): Promise<string[]> {
  const out = ok(await e(['ps', '-a', '--filter', filter, '--format', '{{.Names}}']), 'ps').stdout;
  return out.split('\n').filter(Boolean).sort();
}

test('the HEALTHCHECK step: the same config and history line as the classic builder', async () => {
  const [w, k] = await Promise.all([
    inspect(wharf, 'hc', '.Config.Healthcheck'),
    inspect(docker, 'hc', '.Config.Healthcheck'),
  ]);
  assert.deepEqual(w, k);
  const line = async (e: Engine) =>
    ok(await e(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'hc']), 'history')
      .stdout.split('\n')
      .find((l) => l.includes('HEALTHCHECK'));
  assert.equal(await line(wharf), await line(docker));
});

test('passing, failing and timed-out checks: State.Health and ps as dockerd shows them', async () => {
  const runs: string[][] = [
    ['--name', 'good', '--health-cmd', 'echo ok', '--health-interval', '1s'],
    ['--name', 'bad', '--health-cmd', 'echo no; exit 3', '--health-interval', '1s', '--health-retries', '2'],
    ['--name', 'slow', '--health-cmd', 'sleep 30', '--health-interval', '1s', '--health-timeout', '1s'],
    ['--name', 'off', '--no-healthcheck'],
  ];
  for (const r of runs) await both(['run', '-d', ...r, r.includes('off') ? 'hc' : 'busybox', 'sleep', '600']);
  await both(['run', '-d', '--name', 'missing', 'hc-missing']);
  for (const name of ['good', 'bad', 'slow', 'off', 'missing']) {
    assert.deepEqual(
      await inspect(wharf, name, '.Config.Healthcheck'),
      await inspect(docker, name, '.Config.Healthcheck'),
      `${name}: Config.Healthcheck`,
    );
  }
  // Both start as "starting" (or have already moved on); the filter agrees with the status.
  const waits: Array<[string, (h: Health) => boolean]> = [
    ['good', (h) => h.Status === 'healthy'],
    ['bad', (h) => h.Status === 'unhealthy'],
    ['slow', (h) => h.Log.length >= 1],
    // A probe that cannot start: exit code -1 and the runtime's error, as containerd words it.
    ['missing', (h) => h.Log.length >= 1],
  ];
  for (const [name, done] of waits) {
    let [w, k] = await Promise.all([waitHealth(wharf, name, done), waitHealth(docker, name, done)]);
    // The status follows the results: compare it when both engines have as many results (on a loaded machine one
    // engine's probes run ahead of the other's). The log keeps five at most, so the counts meet.
    for (let i = 0; i < 150 && w.Log.length !== k.Log.length; i++) {
      await sleep(200);
      [w, k] = await Promise.all([waitHealth(wharf, name, done), waitHealth(docker, name, done)]);
    }
    assert.deepEqual(Object.keys(w), Object.keys(k), `${name}: State.Health keys`);
    assert.deepEqual(Object.keys(w.Log[0]!), Object.keys(k.Log[0]!), `${name}: a result's keys`);
    assert.equal(w.Status, k.Status, `${name}: status`);
    const first = (h: Health) => ({ ExitCode: h.Log[0]!.ExitCode, Output: h.Log[0]!.Output });
    assert.deepEqual(first(w), first(k), `${name}: the first result`);
    if (name === 'good' || name === 'bad')
      assert.equal(await psStatus(wharf, name), await psStatus(docker, name), `${name}: ps`);
  }
  assert.equal(await inspect(wharf, 'off', '.State.Health'), null);
  assert.equal(await inspect(docker, 'off', '.State.Health'), null);
  assert.equal(await psStatus(wharf, 'off'), await psStatus(docker, 'off'));
  for (const v of ['healthy', 'none']) {
    assert.deepEqual(await psNames(wharf, `health=${v}`), await psNames(docker, `health=${v}`), `health=${v}`);
  }
  const [wBad, kBad] = [
    await wharf(['ps', '--filter', 'health=fine']),
    await docker(['ps', '--filter', 'health=fine']),
  ];
  assert.equal(wBad.code, kBad.code);
  assert.match(kBad.stderr, /Unrecognised filter value for health: fine/);
  assert.match(wBad.stderr, /Unrecognised filter value for health: fine/);

  // The events of the checks: the same actions (and attribute names) for the first probe and the change of status.
  {
    const wEvents = (await fsp.readFile(path.join(f.root, 'events.log'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as DockerEvent);
    const kEvents = ok(await docker(['events', '--since', '0', '--until', '0s', '--format', '{{json .}}']), 'events')
      .stdout.split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as DockerEvent);
    for (const name of ['good', 'bad']) {
      const [w, k] = [healthEvents(wEvents, name), healthEvents(kEvents, name)];
      assert.deepEqual(w, k, `${name}: health events`);
      assert.equal(w.length, 4, `${name}: ${w.join(', ')}`);
    }
  }

  // commit keeps the container's check; --change HEALTHCHECK replaces it.
  await both(['commit', 'bad', 'committed-a']);
  await both(['commit', '--change', 'HEALTHCHECK --interval=3s CMD ["true"]', 'bad', 'committed-b']);
  for (const img of ['committed-a', 'committed-b']) {
    assert.deepEqual(
      await inspect(wharf, img, '.Config.Healthcheck'),
      await inspect(docker, img, '.Config.Healthcheck'),
      `${img}: Config.Healthcheck`,
    );
  }

  // Stopped: Docker 20.10 leaves the status "unhealthy" when its health monitor stops; so does Wharf.
  await both(['stop', '-t', '1', 'good']);
  const after = await Promise.all([inspect(wharf, 'good', '.State.Health'), inspect(docker, 'good', '.State.Health')]);
  assert.deepEqual(
    after.map((h) => (h as Health).Status),
    ['unhealthy', 'unhealthy'],
  );
  assert.equal(await psStatus(wharf, 'good'), await psStatus(docker, 'good'));
});

// run exits 125 for both kinds; create 125 for the CLI's refusals and 1 for the daemon's.
test('bad --health-* values: the same exit codes and messages', async () => {
  const cases: Array<[string[], string]> = [
    [['--health-interval', '-1s'], '--health-interval cannot be negative'],
    [['--health-timeout', '-1s'], '--health-timeout cannot be negative'],
    [['--health-retries', '-1'], '--health-retries cannot be negative'],
    [['--health-start-period', '-1s'], '--health-start-period cannot be negative'],
    [['--no-healthcheck', '--health-cmd', 'true'], '--no-healthcheck conflicts with --health-* options'],
    [['--health-interval', '100us'], 'Interval in Healthcheck cannot be less than 1ms'],
    [['--health-timeout', '100us'], 'Timeout in Healthcheck cannot be less than 1ms'],
    [['--health-start-period', '100us'], 'StartPeriod in Healthcheck cannot be less than 1ms'],
    [['--health-interval', 'x'], 'invalid argument "x" for "--health-interval" flag: time: invalid duration "x"'],
  ];
  for (const [flags, message] of cases) {
    for (const verb of ['run', 'create']) {
      const [w, k] = [await wharf([verb, ...flags, 'busybox']), await docker([verb, ...flags, 'busybox'])];
      assert.equal(w.code, k.code, `${verb} ${flags.join(' ')}: exit code`);
      assert.ok(k.stderr.includes(message), `docker ${verb} ${flags.join(' ')}: ${k.stderr}`);
      assert.ok(w.stderr.includes(message), `wharf ${verb} ${flags.join(' ')}: ${w.stderr}`);
    }
  }
});
