/**
 * Restart policies, carried out by each container's monitor (native/monitor/restart.c), and `system restore`; with
 * real runc, and compared with a real dockerd where one can run.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ok, runErrorLine } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { dockerdAvailable, startDockerd, type Dockerd } from '../../helpers/dockerd.js';
import { until, withBusybox, type Fixture } from './fixture.js';

let f: Fixture;
before(async () => {
  f = await withBusybox('wharf-ctr-restart-');
});
after(async () => {
  await f?.cleanup();
});

interface Inspected {
  Id: string;
  RestartCount: number;
  State: { Status: string; Running: boolean; Restarting: boolean; ExitCode: number; Pid: number };
  HostConfig: { RestartPolicy: { Name: string; MaximumRetryCount: number } };
}

const inspect = async (name: string): Promise<Inspected> =>
  (JSON.parse(ok(await f.cli(['inspect', name]), `inspect ${name}`).stdout) as Inspected[])[0]!;

const psStatus = async (name: string): Promise<string> =>
  ok(await f.cli(['ps', '-a', '--filter', `name=^${name}$`, '--format', '{{.Status}}']), 'ps').stdout.trim();

test('on-failure:2 restarts a failing command twice, then it stays exited with its code', async () => {
  const run = ok(
    await f.cli(['run', '-d', '--name', 'of2', '--restart=on-failure:2', 'busybox', 'sh', '-c', 'echo ran; exit 3']),
    'run',
  );
  assert.match(run.stdout, /^[0-9a-f]{64}\n$/);
  await until(async () => (await inspect('of2')).State.Status === 'exited', 'of2 to stay exited');
  const doc = await inspect('of2');
  assert.equal(doc.RestartCount, 2);
  assert.equal(doc.State.ExitCode, 3);
  assert.equal(doc.State.Restarting, false);
  assert.deepEqual(doc.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
  assert.match(await psStatus('of2'), /^Exited \(3\) /);
  // One log, three runs.
  assert.equal(ok(await f.cli(['logs', 'of2']), 'logs').stdout, 'ran\nran\nran\n');
  // The event log: a die with its exit code for each run, a start for each (the monitor's after a restart), as
  // dockerd logs them.
  const events = (await fsp.readFile(path.join(f.root, 'events.log'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { Action: string; Actor: { ID: string; Attributes: Record<string, string> } })
    .filter((e) => e.Actor.ID === doc.Id);
  const dies = events.filter((e) => e.Action === 'die');
  assert.deepEqual(
    dies.map((e) => e.Actor.Attributes.exitCode),
    ['3', '3', '3'],
  );
  assert.equal(events.filter((e) => e.Action === 'start').length, 3);
  // on-failure leaves a clean exit alone.
  ok(await f.cli(['run', '-d', '--name', 'of0', '--restart', 'on-failure', 'busybox', 'true']), 'run');
  await until(async () => (await inspect('of0')).State.Status === 'exited', 'of0 to exit');
  assert.equal((await inspect('of0')).RestartCount, 0);
  ok(await f.cli(['rm', 'of2', 'of0']), 'rm');
});

test('always restarts a clean exit; stop ends the loop, start begins it again with a new count, kill ends it too', async () => {
  ok(
    // Up for a second each time: a loaded machine's `ps` (~0.5 s a call) must be able to see it up between restarts.
    await f.cli(['run', '-d', '--name', 'al', '--restart', 'always', 'busybox', 'sh', '-c', 'echo up; sleep 1']),
    'run',
  );
  await until(async () => (await inspect('al')).RestartCount >= 3, 'three restarts');
  // logs -f ends at the next exit, as Docker's does, although a restart follows.
  const follow = ok(await f.cli(['logs', '-f', 'al'], { timeoutMs: 20_000 }), 'logs -f');
  assert.match(follow.stdout, /^(up\n)+$/);
  const statuses = new Set<string>();
  await until(async () => {
    statuses.add((await psStatus('al')).replace(/\d+ seconds?|Less than a second/, 'T'));
    return statuses.has('Restarting (0) T ago') && statuses.has('Up T');
  }, 'ps to show the container restarting and up again');
  ok(await f.cli(['stop', 'al']), 'stop');
  const stopped = await inspect('al');
  assert.equal(stopped.State.Status, 'exited');
  assert.equal(stopped.State.Running, false);
  // Bounded look: no restart comes after the stop.
  await sleep(700);
  const later = await inspect('al');
  assert.equal(later.State.Status, 'exited');
  assert.equal(later.RestartCount, stopped.RestartCount);
  assert.ok(stopped.RestartCount >= 3);

  ok(await f.cli(['start', 'al']), 'start');
  // Counted again from 0, as Docker does (the third restart of a new count takes well over a second).
  assert.ok((await inspect('al')).RestartCount < 3, 'start counts again from 0');
  await until(async () => (await inspect('al')).RestartCount >= 1, 'a restart after start');
  // kill (SIGKILL) ends the loop, as Docker's kill does.
  await until(async () => (await inspect('al')).State.Status === 'running', 'running again');
  ok(await f.cli(['kill', 'al']), 'kill');
  await until(async () => (await inspect('al')).State.Status === 'exited', 'exited after kill');
  const count = (await inspect('al')).RestartCount;
  await sleep(700);
  assert.equal((await inspect('al')).State.Status, 'exited');
  assert.equal((await inspect('al')).RestartCount, count);
  // rm -f of a container in its loop removes it.
  ok(await f.cli(['start', 'al']), 'start');
  ok(await f.cli(['rm', '-f', 'al']), 'rm -f');
  assert.equal((await f.cli(['inspect', 'al'])).code, 1);
});

test('the back-off doubles: the restarts in a measured time stay within what 100 ms doubling allows', async () => {
  const began = Date.now();
  ok(await f.cli(['run', '-d', '--name', 'bo', '--restart', 'always', 'busybox', 'true']), 'run');
  await until(async () => (await inspect('bo')).RestartCount >= 3, 'three restarts', 30_000);
  ok(await f.cli(['stop', 'bo']), 'stop');
  const elapsed = Date.now() - began;
  const count = (await inspect('bo')).RestartCount;
  // k back-offs of 100 ms doubling take 100 ms * (2^k - 1), and a restart is counted when decided, before its
  // back-off: at most k + 1 restarts in the time. Without doubling (a constant 100 ms) a command that exits at once
  // would restart several times as often.
  const most = Math.floor(Math.log2(elapsed / 100 + 1)) + 1;
  assert.ok(count >= 3 && count <= most, `${count} restarts in ${elapsed} ms (at most ${most} with doubling)`);
  ok(await f.cli(['rm', 'bo']), 'rm');
});

test('update of the policy reaches a running container: no stops its loop at the next exit', async () => {
  ok(await f.cli(['run', '-d', '--name', 'up', '--restart', 'always', 'busybox', 'sh', '-c', 'sleep 0.5']), 'run');
  await until(async () => (await inspect('up')).RestartCount >= 1, 'a restart');
  const { Wharf } = await import('../../../src/engine/index.js');
  const w = await Wharf.open({ root: f.root });
  try {
    const p = await w.containers.setRestartPolicy('up', { Name: 'no', MaximumRetryCount: 0 });
    assert.deepEqual(p, { Name: 'no', MaximumRetryCount: 0 });
  } finally {
    w.close();
  }
  await until(async () => (await inspect('up')).State.Status === 'exited', 'the loop to end');
  assert.deepEqual((await inspect('up')).HostConfig.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
  ok(await f.cli(['rm', 'up']), 'rm');
});

/** What a reboot does to a container: its monitor and runc's state are gone with /run. */
async function loseRunState(name: string): Promise<void> {
  const { Id } = await inspect(name);
  const stateDir = path.join(f.root, 'run', 'c', Id.slice(0, 12));
  try {
    const { monitorPid } = JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8')) as {
      monitorPid: number;
    };
    process.kill(monitorPid, 'SIGKILL');
  } catch {
    // an exited container's monitor is gone already
  }
  try {
    execFileSync('runc', ['--root', path.join(f.root, 'run', 'runc'), 'delete', '--force', Id], { stdio: 'ignore' });
  } catch {
    // not known to runc: stopped before
  }
  await fsp.rm(stateDir, { recursive: true, force: true });
}

test('system restore starts always and unless-stopped containers after a lost /run, once; a stopped unless-stopped stays down', async () => {
  ok(await f.cli(['run', '-d', '--name', 'ra', '--restart', 'always', 'busybox', 'sleep', '300']), 'run ra');
  ok(await f.cli(['run', '-d', '--name', 'ru', '--restart', 'unless-stopped', 'busybox', 'sleep', '300']), 'run ru');
  ok(await f.cli(['run', '-d', '--name', 'rs', '--restart', 'unless-stopped', 'busybox', 'sleep', '300']), 'run rs');
  ok(await f.cli(['run', '-d', '--name', 'rk', '--restart', 'unless-stopped', 'busybox', 'sleep', '300']), 'run rk');
  ok(await f.cli(['run', '-d', '--name', 'rn', 'busybox', 'sleep', '300']), 'run rn');
  ok(await f.cli(['stop', '-t', '0', 'rs']), 'stop rs');
  // dockerd leaves a killed unless-stopped container down at its restart too.
  ok(await f.cli(['kill', 'rk']), 'kill rk');
  const ids = new Map<string, string>();
  for (const n of ['ra', 'ru', 'rs', 'rk', 'rn']) {
    ids.set(n, (await inspect(n)).Id);
    await loseRunState(n);
  }
  const first = ok(await f.cli(['system', 'restore']), 'restore');
  assert.deepEqual(first.stdout.split('\n').filter(Boolean).sort(), [ids.get('ra'), ids.get('ru')].sort());
  for (const n of ['ra', 'ru']) {
    assert.equal((await inspect(n)).State.Status, 'running', n);
    assert.equal(ok(await f.cli(['exec', n, 'echo', 'alive']), `exec ${n}`).stdout, 'alive\n');
  }
  for (const n of ['rs', 'rk', 'rn']) assert.equal((await inspect(n)).State.Status, 'exited', n);
  const second = ok(await f.cli(['system', 'restore']), 'restore again');
  assert.equal(second.stdout, '', 'nothing is started twice');
  // start clears the manual stop: rs comes back at the next restore.
  ok(await f.cli(['start', 'rs']), 'start rs');
  await loseRunState('rs');
  assert.equal(ok(await f.cli(['system', 'restore']), 'restore').stdout, `${ids.get('rs')}\n`);
  ok(await f.cli(['rm', '-f', 'ra', 'ru', 'rs', 'rk', 'rn']), 'rm');
});

const BAD_POLICIES: Array<{ args: string[]; message: string }> = [
  { args: ['--restart', 'nope'], message: "invalid restart policy 'nope'" },
  {
    args: ['--restart=on-failure:x'],
    message: 'invalid restart policy format: maximum retry count must be an integer',
  },
  { args: ['--restart', 'always:3'], message: "maximum retry count cannot be used with restart policy 'always'" },
  { args: ['--restart', 'on-failure:-1'], message: 'maximum retry count cannot be negative' },
  { args: ['--rm', '--restart', 'always'], message: 'conflicting options: cannot specify both --restart and --rm' },
];

test('invalid policies: Docker messages, exit 125, nothing created', async () => {
  for (const { args, message } of BAD_POLICIES) {
    const r = await f.cli(['run', ...args, 'busybox', 'true']);
    assert.equal(r.code, 125, args.join(' '));
    // Whose refusal it is (the daemon's or the CLI's) is compared with dockerd's below.
    assert.equal(runErrorLine(r.stderr).replace(/^Error response from daemon: /, ''), message, args.join(' '));
  }
  assert.equal(ok(await f.cli(['ps', '-aq']), 'ps').stdout, '');
});

test('ps and inspect of restart policies match a real dockerd, and so do the refusals', {
  skip: !dockerdAvailable() && 'no dockerd here',
}, async () => {
  const d: Dockerd = await startDockerd();
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-restart-cmp-'));
  try {
    const imp = await d.docker(['import', '-c', 'CMD ["sh"]', await makeBusyboxTar(dir), 'busybox']);
    assert.equal(imp.code, 0, imp.stderr);
    const both = async (args: string[]) => ({ docker: await d.docker(args), wharf: await f.cli(args) });

    for (const { args, message } of BAD_POLICIES) {
      const r = await both(['run', '--network', 'none', ...args, 'busybox', 'true']);
      assert.equal(r.wharf.code, r.docker.code, args.join(' '));
      const dockerLine = r.docker.stderr.split('\n')[0]!.replace(/^docker: (Error response from daemon: )?/, '');
      assert.equal(dockerLine, message, 'the table holds dockerd 20.10 and CLI 28 wording');
      assert.equal(r.wharf.stderr, r.docker.stderr.replaceAll('docker', 'wharf'), 'the whole of it, as docker run');
    }

    const fields =
      '{{.RestartCount}} {{.State.Status}} {{.State.Running}} {{.State.Restarting}} {{.State.ExitCode}} {{json .HostConfig.RestartPolicy}}';
    const steps = [
      [
        'run',
        '-d',
        '--network',
        'none',
        '--name',
        'cmp2',
        '--restart',
        'on-failure:2',
        'busybox',
        'sh',
        '-c',
        'exit 3',
      ],
    ];
    for (const s of steps) {
      const r = await both(s);
      assert.equal(r.docker.code, 0, r.docker.stderr);
      assert.equal(r.wharf.code, 0, r.wharf.stderr);
    }
    const settled = async (run: (a: string[]) => Promise<{ stdout: string }>): Promise<string> => {
      let out = '';
      for (let i = 0; i < 150; i++) {
        out = (await run(['inspect', '-f', fields, 'cmp2'])).stdout.trim();
        if (out.split(' ')[1] === 'exited') break;
        await sleep(100);
      }
      return out;
    };
    const dockerEnd = await settled((a) => d.docker(a));
    assert.equal(await settled((a) => f.cli(a)), dockerEnd);
    assert.equal(dockerEnd, '2 exited false false 3 {"Name":"on-failure","MaximumRetryCount":2}');
    const exitedForm = (s: string) => s.replace(/(Less than a second|\d+ seconds?)/, 'T');
    const psArgs = ['ps', '-a', '--filter', 'name=cmp2', '--format', '{{.Status}}'];
    const ps = await both(psArgs);
    assert.equal(exitedForm(ps.wharf.stdout), exitedForm(ps.docker.stdout));

    // A loop in its back-off: both show Restarting with the last exit code, and Running true in inspect.
    const loop = [
      'run',
      '-d',
      '--network',
      'none',
      '--name',
      'cmpl',
      '--restart',
      'always',
      'busybox',
      'sh',
      '-c',
      'exit 3',
    ];
    const started = await both(loop);
    assert.equal(started.docker.code, 0, started.docker.stderr);
    assert.equal(started.wharf.code, 0, started.wharf.stderr);
    const restarting = async (run: (a: string[]) => Promise<{ stdout: string }>): Promise<string[]> => {
      for (let i = 0; i < 150; i++) {
        const status = (await run(['ps', '--filter', 'name=cmpl', '--format', '{{.Status}}'])).stdout.trim();
        const doc = (
          await run([
            'inspect',
            '-f',
            '{{.State.Status}} {{.State.Running}} {{.State.Restarting}} {{.State.Pid}}',
            'cmpl',
          ])
        ).stdout.trim();
        if (status.startsWith('Restarting') && doc.startsWith('restarting')) return [exitedForm(status), doc];
        await sleep(50);
      }
      return [];
    };
    const dockerSeen = await restarting((a) => d.docker(a));
    assert.deepEqual(dockerSeen, ['Restarting (3) T ago', 'restarting true true 0']);
    assert.deepEqual(await restarting((a) => f.cli(a)), dockerSeen);
    const stop = await both(['stop', 'cmpl']);
    assert.equal(stop.wharf.code, stop.docker.code);
    const after = await both(['inspect', '-f', '{{.State.Status}} {{.State.Restarting}}', 'cmpl']);
    assert.equal(after.wharf.stdout, after.docker.stdout);
    assert.equal(after.wharf.stdout, 'exited false\n');
    // wait ends at the first exit although a restart follows, with its code; create keeps the policy for start.
    const create = await both([
      'create',
      '--network',
      'none',
      '--name',
      'cmpw',
      '--restart=on-failure:1',
      'busybox',
      'sh',
      '-c',
      'sleep 1; exit 4',
    ]);
    assert.equal(create.wharf.code, create.docker.code);
    assert.equal((await both(['start', 'cmpw'])).wharf.code, 0);
    const wait = await both(['wait', 'cmpw']);
    assert.equal(wait.wharf.stdout, wait.docker.stdout);
    assert.equal(wait.wharf.stdout, '4\n');
    const ended = await both(['wait', 'cmpw']);
    assert.equal(ended.wharf.stdout, ended.docker.stdout);
    const count = await both(['inspect', '-f', '{{.RestartCount}} {{.State.Status}}', 'cmpw']);
    assert.equal(count.wharf.stdout, count.docker.stdout);
    assert.equal(count.wharf.stdout, '1 exited\n');
    ok(await f.cli(['rm', '-f', 'cmp2', 'cmpl', 'cmpw']), 'rm');
  } finally {
    await d.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
