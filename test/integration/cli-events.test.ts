/**
 * `wharf events` against a private dockerd (issue 12): the same steps on both engines give the same Actions in the
 * same order with the same attribute keys; the follower sees an event that happens after it started; `info`,
 * `version` and `system prune` with and without -a/--volumes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WHARF_BIN, ok, tempRoot, type CliResult } from '../helpers/cli.js';
import { makeBusyboxTar } from '../helpers/busybox.js';
import { dockerdAvailable, startDockerd, type Dockerd } from '../helpers/dockerd.js';

let t: Awaited<ReturnType<typeof tempRoot>>;
let d: Dockerd;
let busyboxTar: string;
const wharf = (args: string[]) => t.cli(args);
const docker = (args: string[]) => d.docker(args);

before(async () => {
  if (!dockerdAvailable()) throw new Error('dockerd is not installed');
  t = await tempRoot('wharf-events-');
  const tar = await makeBusyboxTar(t.root);
  busyboxTar = tar;
  ok(await wharf(['import', '-c', 'CMD ["sh"]', tar, 'busybox']), 'import busybox');
  d = await startDockerd();
  const archive = path.join(t.root, 'busybox-save.tar');
  ok(await wharf(['save', 'busybox', '-o', archive]), 'save busybox');
  const loaded = await docker(['load', '-i', archive]);
  assert.equal(loaded.code, 0, loaded.stderr);
});
after(async () => {
  await wharf(['rm', '-f', 'ev1', 'ev2']).catch(() => {});
  await d?.stop();
  await t?.cleanup();
});

interface Message {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  status?: string;
  id?: string;
  from?: string;
  scope: string;
  time: number;
  timeNano: number;
}

/** The events between two times as `--format json` prints them, one per line, as each engine reports them. */
async function eventsBetween(cli: (a: string[]) => Promise<CliResult>, since: number, until: number) {
  const r = ok(await cli(['events', '--since', String(since), '--until', String(until), '--format', 'json']), 'events');
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Message);
}

/**
 * What must agree: Type, Action, whether status/id/from are there, and the attribute keys. `execDuration` of a die
 * is left out: moby 25 added it, the Debian dockerd 20.10 here predates it.
 */
const shape = (e: Message) => ({
  Type: e.Type,
  Action: e.Action,
  legacy: [e.status !== undefined, e.id !== undefined, e.from !== undefined],
  keys: Object.keys(e.Actor.Attributes)
    .filter((k) => k !== 'execDuration')
    .sort(),
  scope: e.scope,
});

test('run, pause, rename, restart, exec, kill, commit, stop, rm, run --rm, tag, rmi, volumes, save, load and import give the events dockerd gives, in its order, with its attributes', async () => {
  const steps = [
    ['run', '-d', '--name', 'ev1', '--label', 'team=a', 'busybox', 'sleep', '600'],
    ['pause', 'ev1'],
    ['unpause', 'ev1'],
    ['rename', 'ev1', 'ev2'],
    // After the rename: dockerd 20.10 without a bridge cannot rename a restarted container ("sandbox not found").
    ['restart', '-t', '1', 'ev2'],
    ['exec', 'ev2', 'sh', '-c', 'exit 2'],
    ['kill', '-s', 'HUP', 'ev2'],
    ['commit', 'ev2', 'evrun:1'],
    ['rmi', 'evrun:1'],
    ['stop', '-t', '1', 'ev2'],
    ['commit', '-m', 'note', 'ev2', 'evc:1'],
    ['rmi', 'evc:1'],
    ['rm', 'ev2'],
    ['run', '--rm', '--name', 'ev3', 'busybox', 'sh', '-c', 'exit 3'],
    ['run', '-d', '--name', 'ev4', 'busybox', 'sleep', '600'],
    ['rm', '-f', 'ev4'],
    ['tag', 'busybox', 'ev:t'],
    ['rmi', 'ev:t'],
    ['volume', 'create', 'evv'],
    ['volume', 'rm', 'evv'],
    ['volume', 'create', 'evvol'],
    ['run', '-d', '--name', 'ev5', '-v', 'evvol:/data', '-v', '/anon', 'busybox', 'sleep', '600'],
    ['stop', '-t', '1', 'ev5'],
    ['rm', '-v', 'ev5'],
    ['volume', 'rm', 'evvol'],
    ['save', '-o', '@save', 'busybox'],
    ['load', '-i', '@save'],
    ['import', '@tar', 'evimp'],
    ['rmi', 'evimp'],
  ];
  const got: Record<string, Message[]> = {};
  for (const [name, cli] of [
    ['wharf', wharf],
    ['docker', docker],
  ] as const) {
    const since = Date.now() / 1000;
    for (const step of steps) {
      const s = step.map((x) =>
        x === '@save' ? path.join(t.root, `${name}-save.tar`) : x === '@tar' ? busyboxTar : x,
      );
      const r = await cli(s);
      // run --rm exits with its container's code.
      assert.equal(
        r.code,
        s.includes('exit 3') ? 3 : s.includes('exit 2') ? 2 : 0,
        `${name} ${s.join(' ')}: ${r.stderr}`,
      );
    }
    got[name] = await eventsBetween(cli, since, Date.now() / 1000 + 1);
  }
  const [w, k] = [got.wharf!, got.docker!];
  assert.deepEqual(
    w.map((e) => `${e.Type} ${e.Action}`),
    k.map((e) => `${e.Type} ${e.Action}`),
  );
  assert.deepEqual(w.map(shape), k.map(shape));
  // The values that do not depend on the engine.
  const die = (m: Message[]) => m.filter((e) => e.Action === 'die').map((e) => e.Actor.Attributes);
  assert.deepEqual(
    die(w).map((a) => [a.name, a.exitCode, a.image, a.team]),
    die(k).map((a) => [a.name, a.exitCode, a.image, a.team]),
  );
  const kills = (m: Message[]) => m.filter((e) => e.Action === 'kill').map((e) => e.Actor.Attributes.signal);
  assert.deepEqual(kills(w), kills(k));
  const exec = (m: Message[]) =>
    m.filter((e) => e.Action.startsWith('exec_')).map((e) => [e.Action, e.Actor.Attributes.exitCode]);
  assert.deepEqual(exec(w), exec(k));
  const commit = (m: Message[]) => m.find((e) => e.Action === 'commit')!.Actor.Attributes;
  assert.deepEqual([commit(w).comment, commit(w).imageRef], [commit(k).comment, commit(k).imageRef]);
  const renamed = (m: Message[]) => m.find((e) => e.Action === 'rename')!.Actor.Attributes;
  assert.deepEqual([renamed(w).name, renamed(w).oldName], [renamed(k).name, renamed(k).oldName]);
  // Exact nanoseconds, ordered.
  for (let i = 1; i < w.length; i++) assert.ok(w[i]!.timeNano >= w[i - 1]!.timeNano, 'in time order');
});

test("the default line is Docker's; filters narrow as dockerd's do", async () => {
  const windows: Record<string, [string, string]> = {};
  for (const [name, cli] of [
    ['wharf', wharf],
    ['docker', docker],
  ] as const) {
    const since = String(Date.now() / 1000);
    ok(await cli(['volume', 'create', 'evlines']), 'volume create');
    ok(await cli(['volume', 'rm', 'evlines']), 'volume rm');
    ok(await cli(['tag', 'busybox', 'evlines:1']), 'tag');
    windows[name] = [since, String(Date.now() / 1000 + 1)];
  }
  const [since, until] = windows.wharf!;
  const lines = ok(await wharf(['events', '--since', since, '--until', until]), 'events').stdout;
  assert.match(
    lines,
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) volume create evlines \(driver=local\)\n/,
  );
  const filters = [
    ['-f', 'event=destroy'],
    ['-f', 'container=evlines'],
    ['-f', 'type=volume', '-f', 'type=image'],
    ['-f', 'image=evlines'],
    ['-f', 'volume=evl', '-f', 'event=create'],
    ['-f', 'label=name'],
  ];
  for (const f of filters) {
    const out: Record<string, string> = {};
    for (const [name, cli] of [
      ['wharf', wharf],
      ['docker', docker],
    ] as const) {
      const [s, u] = windows[name]!;
      const format = '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}';
      out[name] = ok(await cli(['events', '--since', s, '--until', u, ...f, '--format', format]), f.join(' ')).stdout;
    }
    assert.equal(out.wharf, out.docker, f.join(' '));
  }
  const only = ok(
    await wharf([
      'system',
      'events',
      '--since',
      since,
      '--until',
      until,
      '-f',
      'event=destroy',
      '--format',
      '{{.Actor.ID}}',
    ]),
    'system events',
  );
  assert.equal(only.stdout, 'evlines\n');
  const bad = await wharf(['events', '--until', '0s', '-f', 'nope=1']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid filter 'nope'/);
});

test('events follows: an event after it started is printed, and SIGINT ends it', async () => {
  const child = spawn(WHARF_BIN, ['--root', t.root, 'events', '--format', '{{.Type}} {{.Action}} {{.Actor.ID}}'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    // The follower starts at the log's end: events from before it are not printed. Create volumes until it prints
    // one (bounded), since how long it takes to start is not known.
    for (let i = 0; i < 60 && !out.includes('volume create'); i++) {
      ok(await wharf(['volume', 'create', `follow${i}`]), 'volume create');
      await sleep(250);
    }
    assert.match(out, /^volume create follow\d+\n/);
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0);
});

test("info and version: Docker's fields for --format, true values", async () => {
  ok(await wharf(['run', '-d', '--name', 'inf1', 'busybox', 'sleep', '600']), 'run');
  try {
    const info = ok(
      await wharf([
        'info',
        '--format',
        '{{.ContainersRunning}} {{.Driver}} {{.OSType}} {{.DockerRootDir}} {{.DefaultRuntime}}',
      ]),
      'info',
    );
    const [running, driver, osType, root, runtime] = info.stdout.trim().split(' ');
    assert.ok(Number(running) >= 1);
    assert.ok(['overlay2', 'vfs'].includes(driver!));
    assert.deepEqual([osType, root, runtime], ['linux', t.root, 'runc']);
    const json = JSON.parse(ok(await wharf(['system', 'info', '--format', 'json']), 'info json').stdout);
    assert.equal(json.Images, 1);
    assert.equal(typeof json.NCPU, 'number');
    const text = ok(await wharf(['info']), 'info').stdout;
    assert.match(text, /^Client:\n Version: +\S+\n/);
    assert.match(text, /\nServer:\n Containers: \d+\n {2}Running: \d+\n {2}Paused: 0\n {2}Stopped: \d+\n Images: 1\n/);
    assert.deepEqual(json.SecurityOptions, ['name=seccomp,profile=builtin'], "Docker's default seccomp profile");
    assert.match(text, /\n Security Options:\n {2}seccomp\n {3}Profile: builtin\n/);
    const v = ok(await wharf(['version', '--format', '{{.Server.Version}} {{.Client.Version}}']), 'version');
    const [server, client] = v.stdout.trim().split(' ');
    assert.equal(server, client);
    assert.equal(ok(await wharf(['--version']), '--version').stdout, `Wharf version ${client}\n`);
    assert.match(
      ok(await wharf(['version']), 'version').stdout,
      /\nServer: Wharf \(daemonless\)\n Engine:\n {2}Version: +\S+\n/,
    );
  } finally {
    await wharf(['rm', '-f', 'inf1']);
  }
});

test("system prune: Docker's warning, each prune's report and the total; -a and --volumes widen it", async () => {
  ok(await wharf(['create', '--name', 'pr1', '-v', '/data', 'busybox', 'true']), 'create');
  ok(await wharf(['tag', 'busybox', 'prune:me']), 'tag');
  const declined = ok(await wharf(['system', 'prune', '--volumes']), 'prune, declined');
  assert.equal(
    declined.stdout,
    'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n' +
      '  - all anonymous volumes not used by at least one container\n  - all dangling images\n  - unused build cache\n\n' +
      'Are you sure you want to continue? [y/N] ',
  );
  assert.notEqual(ok(await wharf(['ps', '-aq', '-f', 'name=pr1']), 'ps').stdout, '', 'declined: nothing removed');
  const volumesBefore = ok(await wharf(['volume', 'ls', '-q']), 'volume ls')
    .stdout.trim()
    .split('\n');
  // Without --volumes the container goes, its anonymous volume stays.
  const plain = ok(await wharf(['system', 'prune', '-f']), 'prune');
  assert.match(plain.stdout, /^Deleted Containers:\n[0-9a-f]{64}\n\nTotal reclaimed space: \S+\n$/);
  assert.deepEqual(
    ok(await wharf(['volume', 'ls', '-q']), 'volume ls')
      .stdout.trim()
      .split('\n'),
    volumesBefore,
  );
  // --volumes: the unused anonymous volume goes too.
  const vols = ok(await wharf(['system', 'prune', '-f', '--volumes']), 'prune --volumes');
  assert.match(vols.stdout, /^Deleted Volumes:\n[0-9a-f]{64}\n\nTotal reclaimed space: /);
  // -a: every image no container uses, tags first.
  const all = ok(await wharf(['system', 'prune', '-a', '-f']), 'prune -a');
  assert.match(
    all.stdout,
    /^Deleted Images:\n(untagged: \S+\n)+(deleted: sha256:[0-9a-f]{64}\n)+\nTotal reclaimed space: /,
  );
  assert.match(all.stdout, /untagged: prune:me\n/);
  assert.equal(ok(await wharf(['images', '-q']), 'images').stdout, '');
  // The prunes' own events.
  const ev = ok(
    await wharf(['events', '--since', '30s', '--until', '0s', '-f', 'event=prune', '--format', '{{.Type}}']),
    'ev',
  );
  assert.match(ev.stdout, /container\nnetwork\nvolume\nimage\nbuilder\n/);
});
