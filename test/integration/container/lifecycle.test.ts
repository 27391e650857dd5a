import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ok, runErrorLine } from '../../helpers/cli.js';
import { assertNothingLeft, fetchWithRetry, freePort, until, withBusybox, type Fixture } from './fixture.js';
import { hostHasIpv6 } from '../../helpers/ipv6.js';

const v6 = hostHasIpv6();

let f: Fixture;
before(async () => {
  f = await withBusybox('wharf-ctr-life-');
});
after(async () => {
  await f?.cleanup();
});

test('the web server case: run -d -p, fetch from 127.0.0.1, ps, port, inspect, logs, stop, rm, nothing left', async (t) => {
  t.after(async () => {
    await f.cli(['rm', '-f', 'web']);
  });
  const port = await freePort();
  const run = ok(
    await f.cli([
      'run',
      '-d',
      '--name',
      'web',
      '-p',
      `${port}:80`,
      'busybox',
      'sh',
      '-c',
      'echo serving >&2; exec httpd -f -p 80 -h /var/www',
    ]),
    'run -d',
  );
  const id = run.stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const res = await fetchWithRetry(port, '/index.html');
  assert.equal(res.status, 200);
  assert.equal(res.body, 'hello from wharf\n');

  const ps = ok(await f.cli(['ps']), 'ps').stdout;
  assert.match(ps, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/m);
  assert.match(
    ps,
    new RegExp(
      `^${id.slice(0, 12)}\\s+busybox\\s+"sh -c 'echo serving…"\\s+.+ago\\s+Up .+\\s+0\\.0\\.0\\.0:${port}->80/tcp${v6 ? `, \\[::\\]:${port}->80/tcp` : ''}\\s+web$`,
      'm',
    ),
  );
  const v6Line = (prefix: string) => (v6 ? `${prefix}[::]:${port}\n` : '');
  assert.equal(ok(await f.cli(['port', 'web']), 'port').stdout, `80/tcp -> 0.0.0.0:${port}\n${v6Line('80/tcp -> ')}`);
  assert.equal(ok(await f.cli(['port', 'web', '80']), 'port 80').stdout, `0.0.0.0:${port}\n${v6Line('')}`);

  const doc = JSON.parse(ok(await f.cli(['inspect', 'web']), 'inspect').stdout)[0];
  assert.equal(doc.Id, id);
  assert.equal(doc.Name, '/web');
  assert.equal(doc.State.Status, 'running');
  assert.equal(doc.State.Running, true);
  assert.ok(doc.State.Pid > 0);
  assert.match(doc.NetworkSettings.IPAddress, /^10\.89\.0\.\d+$/);
  assert.deepEqual(doc.NetworkSettings.Ports['80/tcp'], [
    { HostIp: '0.0.0.0', HostPort: String(port) },
    ...(v6 ? [{ HostIp: '::', HostPort: String(port) }] : []),
  ]);
  assert.equal(doc.GraphDriver.Name, 'overlay2');
  for (const k of ['LowerDir', 'UpperDir', 'WorkDir', 'MergedDir']) {
    for (const dir of String(doc.GraphDriver.Data[k]).split(':')) await fsp.stat(dir);
  }
  assert.deepEqual(doc.Config.Cmd, ['sh', '-c', 'echo serving >&2; exec httpd -f -p 80 -h /var/www']);
  assert.equal(doc.Config.Hostname, id.slice(0, 12));

  // what the process wrote on stderr is in the json-file log with its stream
  await until(async () => (await f.cli(['logs', 'web'])).stderr === 'serving\n', 'stderr line in logs');
  const raw = await fsp.readFile(path.join(f.root, 'containers', id, `${id}-json.log`), 'utf8');
  assert.match(raw, /"stream":"stderr","time":"[^"]+Z"/);

  const stop = ok(await f.cli(['stop', '-t', '1', 'web']), 'stop');
  assert.equal(stop.stdout, 'web\n');
  const psa = ok(await f.cli(['ps', '-a', '--filter', 'name=web']), 'ps -a').stdout;
  assert.match(psa, /Exited \(137\) .* ago/, 'httpd as PID 1 ignores SIGTERM, so it was killed');
  await assert.rejects(fetchWithRetry(port));
  // logs survive the stop
  assert.equal((await f.cli(['logs', 'web'])).stderr, 'serving\n');
  assert.equal(ok(await f.cli(['rm', 'web']), 'rm').stdout, 'web\n');
  await assertNothingLeft(f.root, id);
  assert.equal(ok(await f.cli(['system', 'check']), 'system check').code, 0);
});

test('exit codes: the container status, 125 engine errors, 126/127 for commands', async () => {
  const r = await f.cli(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(r.code, 3);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  const nf = await f.cli(['run', '--rm', 'busybox', 'nope']);
  assert.equal(nf.code, 127);
  assert.match(runErrorLine(nf.stderr), /exec: "nope": executable file not found/);
  const ne = await f.cli(['run', '--rm', 'busybox', '/etc/passwd']);
  assert.equal(ne.code, 126);
  assert.equal((await f.cli(['run', '--rm', 'no-such-image'])).code, 125);
  const badPort = await f.cli(['run', '--rm', '-p', '70000:80', 'busybox', 'true']);
  assert.equal(badPort.code, 125);
  assert.match(badPort.stderr, /invalid port specification/);
  const badVol = await f.cli(['run', '--rm', '-v', '/tmp:relative', 'busybox', 'true']);
  assert.equal(badVol.code, 125);
  assert.match(badVol.stderr, /mount path must be absolute/);
  // --rm removed every one of them, and nothing half-created stayed
  assert.equal(ok(await f.cli(['ps', '-aq']), 'ps').stdout, '');
  const dirs = await fsp.readdir(path.join(f.root, 'containers')).catch(() => []);
  assert.deepEqual(dirs, []);
});

test('a taken name is a conflict; a failed start leaves a Created container with the exit code', async () => {
  ok(await f.cli(['create', '--name', 'dup', 'busybox', 'true']), 'create');
  const again = await f.cli(['create', '--name', 'dup', 'busybox', 'true']);
  // As docker create: the daemon's refusal, exit 1 (cli-create-errors-docker.test.ts compares).
  assert.equal(again.code, 1);
  assert.match(
    again.stderr,
    /^Error response from daemon: Conflict\. The container name "\/dup" is already in use by container "[0-9a-f]{64}"/,
  );
  const failed = await f.cli(['run', '--name', 'broken', 'busybox', 'nope']);
  assert.equal(failed.code, 127);
  const doc = JSON.parse(ok(await f.cli(['inspect', 'broken']), 'inspect').stdout)[0];
  assert.equal(doc.State.Status, 'created');
  assert.equal(doc.State.ExitCode, 127);
  assert.match(doc.State.Error, /executable file not found/);
  ok(await f.cli(['rm', 'dup', 'broken']), 'rm');
});

test('create, start, kill -s, wait, restart, rename, pause/unpause', async () => {
  const id = ok(
    await f.cli(['create', '--name', 'k1', 'busybox', 'sh', '-c', 'trap "exit 42" USR1; while :; do sleep 0.1; done']),
    'create',
  ).stdout.trim();
  assert.match(ok(await f.cli(['ps', '-a']), 'ps').stdout, /Created\s+k1/);
  assert.equal(ok(await f.cli(['start', 'k1']), 'start').stdout, 'k1\n');
  assert.match(ok(await f.cli(['ps']), 'ps').stdout, /Up .*k1/);
  await sleep(300);
  ok(await f.cli(['kill', '-s', 'USR1', 'k1']), 'kill');
  assert.equal(ok(await f.cli(['wait', 'k1']), 'wait').stdout, '42\n');
  assert.match(ok(await f.cli(['ps', '-a']), 'ps').stdout, /Exited \(42\)/);
  const notRunning = await f.cli(['kill', 'k1']);
  assert.equal(notRunning.code, 1);
  assert.match(notRunning.stderr, /is not running/);

  ok(await f.cli(['restart', 'k1']), 'restart');
  assert.match(ok(await f.cli(['ps']), 'ps').stdout, /Up .*k1/);
  ok(await f.cli(['rename', 'k1', 'k2']), 'rename');
  ok(await f.cli(['pause', 'k2']), 'pause');
  assert.match(ok(await f.cli(['ps']), 'ps').stdout, /\(Paused\)\s+k2/);
  assert.equal(JSON.parse(ok(await f.cli(['inspect', 'k2']), 'inspect').stdout)[0].State.Paused, true);
  ok(await f.cli(['unpause', 'k2']), 'unpause');
  const rmRunning = await f.cli(['rm', 'k2']);
  assert.equal(rmRunning.code, 1);
  assert.match(rmRunning.stderr, /You cannot remove a running container/);
  ok(await f.cli(['rm', '-f', 'k2']), 'rm -f');
  await assertNothingLeft(f.root, id);
});

test('run options: -e, --env-file, -w, -u, --entrypoint, -h, -l, --read-only, --network none, /etc/hosts', async () => {
  const envFile = path.join(f.root, 'env.list');
  await fsp.writeFile(envFile, '# comment\nFROM_FILE=yes\n\n');
  const r = ok(
    await f.cli([
      'run',
      '--rm',
      '-e',
      'A=1',
      '--env-file',
      envFile,
      '-w',
      '/tmp',
      '-u',
      'www',
      '-h',
      'myhost',
      '--name',
      'opts',
      'busybox',
      'sh',
      '-c',
      'echo $A $FROM_FILE; pwd; id -u; id -g; hostname; grep -c myhost /etc/hosts',
    ]),
    'run',
  );
  assert.equal(r.stdout, '1 yes\n/tmp\n33\n33\nmyhost\n1\n');
  const ep = ok(await f.cli(['run', '--rm', '--entrypoint', 'echo', 'busybox', 'from', 'entrypoint']), 'entrypoint');
  assert.equal(ep.stdout, 'from entrypoint\n');
  const ro = await f.cli(['run', '--rm', '--read-only', 'busybox', 'touch', '/x']);
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /Read-only file system/);
  // Loopback only, and up (flags IFF_UP|IFF_LOOPBACK = 0x9).
  const none = ok(
    await f.cli([
      'run',
      '--rm',
      '--network',
      'none',
      'busybox',
      'sh',
      '-c',
      'ls /sys/class/net; cat /sys/class/net/lo/flags',
    ]),
    'none',
  );
  assert.equal(none.stdout, 'lo\n0x9\n');
  const lbl = ok(await f.cli(['create', '-l', 'team=a', '--name', 'lbl', 'busybox']), 'create -l');
  assert.equal(
    ok(await f.cli(['ps', '-a', '--filter', 'label=team=a', '--format', '{{.Names}}']), 'ps filter').stdout,
    'lbl\n',
  );
  ok(await f.cli(['rm', lbl.stdout.trim()]), 'rm');
});

test('SIGKILL of the monitor: ps still shows the truth and rm -f cleans up', async () => {
  const id = ok(await f.cli(['run', '-d', 'busybox', 'sleep', '300']), 'run').stdout.trim();
  const stateFile = path.join(f.root, 'run', 'c', id.slice(0, 12), 'state.json');
  const st = JSON.parse(await fsp.readFile(stateFile, 'utf8')) as { monitorPid: number; pid: number };
  process.kill(st.monitorPid, 'SIGKILL');
  await sleep(300);
  assert.match(ok(await f.cli(['ps']), 'ps').stdout, new RegExp(`${id.slice(0, 12)}.*Up `), 'the process still runs');
  ok(await f.cli(['rm', '-f', id]), 'rm -f');
  await assertNothingLeft(f.root, id);
  assert.throws(() => process.kill(st.pid, 0), 'the container process is gone');
});

test('stop of a process that ignores SIGTERM: SIGKILL once the timeout passed, torn down by the stopping CLI', async () => {
  // `sleep` as PID 1 ignores SIGTERM (the kernel gives PID 1 no default action for it).
  const id = ok(await f.cli(['run', '-d', '--network', 'none', 'busybox', 'sleep', '300']), 'run').stdout.trim();
  const since = String(Date.now() / 1000);
  ok(await f.cli(['stop', '-t', '1', id]), 'stop');
  const events = ok(
    await f.cli(['events', '--since', since, '--until', String(Date.now() / 1000 + 1), '--format', 'json']),
    'events',
  )
    .stdout.split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { Action: string; timeNano: number; Actor: { Attributes: Record<string, string> } });
  const seen = events.map((e) => `${e.Action}${e.Actor.Attributes.signal ? ` ${e.Actor.Attributes.signal}` : ''}`);
  assert.deepEqual(seen, ['kill 15', 'kill 9', 'die', 'stop']);
  assert.equal(events[2]!.Actor.Attributes.exitCode, '137', 'killed by SIGKILL');
  // The order of what happened, not a duration: the SIGKILL was not sent before the timeout had passed.
  assert.ok(events[1]!.timeNano - events[0]!.timeNano >= 1e9, 'SIGKILL only after the 1 s timeout');
  // The stopping CLI claimed the teardown on the monitor's socket (no cleanup process, no polling of the state).
  const state = JSON.parse(await fsp.readFile(path.join(f.root, 'run', 'c', id.slice(0, 12), 'state.json'), 'utf8'));
  assert.equal(typeof state.cleanupBy, 'number', 'the teardown was delegated to the stopping CLI');
  const doc = JSON.parse(ok(await f.cli(['inspect', id]), 'inspect').stdout)[0];
  assert.equal(doc.State.Status, 'exited');
  assert.equal(doc.State.ExitCode, 137);
  ok(await f.cli(['rm', id]), 'rm');
  await assertNothingLeft(f.root, id);
});

test('rm -f of a running container: killed, torn down and removed by the CLI, nothing left', async () => {
  const id = ok(await f.cli(['run', '-d', 'busybox', 'sleep', '300']), 'run').stdout.trim();
  const pid = JSON.parse(ok(await f.cli(['inspect', id]), 'inspect').stdout)[0].State.Pid as number;
  const since = String(Date.now() / 1000);
  ok(await f.cli(['rm', '-f', id]), 'rm -f');
  await assertNothingLeft(f.root, id);
  assert.throws(() => process.kill(pid, 0), 'the container process is gone');
  const actions = ok(
    await f.cli(['events', '--since', since, '--until', String(Date.now() / 1000 + 1), '--format', '{{.Action}}']),
    'events',
  ).stdout;
  assert.equal(actions, 'kill\ndie\ndestroy\n');
});

test('SIGKILL of the container process is recorded as exit 137', async () => {
  const id = ok(await f.cli(['run', '-d', 'busybox', 'sleep', '300']), 'run').stdout.trim();
  const doc = JSON.parse(ok(await f.cli(['inspect', id]), 'inspect').stdout)[0];
  process.kill(doc.State.Pid, 'SIGKILL');
  assert.equal(ok(await f.cli(['wait', id]), 'wait').stdout, '137\n');
  await until(
    async () =>
      !(await fsp.stat(`/var/run/netns/wharf-${id}`).then(
        () => true,
        () => false,
      )),
    'netns released',
  );
  ok(await f.cli(['rm', id]), 'rm');
  await assertNothingLeft(f.root, id);
});

test('run -d --rm removes the container after it exits; killing the CLI of logs -f leaves it alone', async () => {
  const id = ok(await f.cli(['run', '-d', '--rm', 'busybox', 'sh', '-c', 'echo bye; sleep 0.5']), 'run').stdout.trim();
  await until(async () => !(await f.cli(['ps', '-aq', '--no-trunc'])).stdout.includes(id), 'auto-removal');
  await until(
    async () =>
      !(await fsp.stat(path.join(f.root, 'run', 'c', id.slice(0, 12))).then(
        () => true,
        () => false,
      )),
    'run dir removed',
  );
  await assertNothingLeft(f.root, id);

  const id2 = ok(
    await f.cli([
      'run',
      '-d',
      'busybox',
      'sh',
      '-c',
      'i=0; while [ $i -lt 100 ]; do echo line$i; i=$((i+1)); sleep 0.05; done',
    ]),
    'run',
  ).stdout.trim();
  const follow = await f.cli(['logs', '-f', '--tail', '2', id2], { timeoutMs: 30_000 });
  assert.equal(follow.code, 0);
  assert.match(follow.stdout, /line99\n$/, 'logs -f ends when the container exits');
  const tail = ok(await f.cli(['logs', '--tail', '3', '-t', id2]), 'logs --tail')
    .stdout.trim()
    .split('\n');
  assert.equal(tail.length, 3);
  assert.match(tail[2]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z line99$/);
  ok(await f.cli(['rm', id2]), 'rm');
});

test('rmi refuses an image a container uses; system df counts containers', async () => {
  const id = ok(await f.cli(['create', 'busybox', 'true']), 'create').stdout.trim();
  const rmi = await f.cli(['rmi', 'busybox']);
  assert.notEqual(rmi.code, 0);
  assert.match(rmi.stderr, /container [0-9a-f]{12} is using its referenced image/);
  const df = ok(await f.cli(['system', 'df']), 'df').stdout;
  assert.match(df, /^Containers\s+1\s+0\s+/m);
  ok(await f.cli(['rm', id]), 'rm');
});

test('killing the CLI of logs -f or of an attached run leaves the container running', async () => {
  const { spawn } = await import('node:child_process');
  const { WHARF_BIN } = await import('../../helpers/cli.js');
  const id = ok(
    await f.cli(['run', '-d', 'busybox', 'sh', '-c', 'while :; do echo tick; sleep 0.2; done']),
    'run',
  ).stdout.trim();
  const logs = spawn(WHARF_BIN, ['--root', f.root, 'logs', '-f', id], { stdio: ['ignore', 'pipe', 'ignore'] });
  let seen = '';
  logs.stdout.on('data', (d: Buffer) => (seen += d.toString()));
  await until(async () => seen.includes('tick'), 'logs -f output');
  logs.kill('SIGKILL');
  const attached = spawn(WHARF_BIN, ['--root', f.root, 'run', '--name', 'attached', 'busybox', 'sleep', '300'], {
    stdio: 'ignore',
  });
  await until(async () => /Up /.test((await f.cli(['ps', '--filter', 'name=attached'])).stdout), 'attached run is up');
  attached.kill('SIGKILL');
  await sleep(500);
  const ps = ok(await f.cli(['ps', '--format', '{{.ID}} {{.Status}}']), 'ps').stdout;
  assert.match(ps, new RegExp(`${id.slice(0, 12)} Up `));
  assert.match(ok(await f.cli(['ps', '--filter', 'name=attached']), 'ps').stdout, /Up /);
  ok(await f.cli(['rm', '-f', id, 'attached']), 'rm');
  await assertNothingLeft(f.root, id);
});

/** A one-file tar (for `cp - ctr:/`). */
async function tarOf(name: string, content: string): Promise<Buffer> {
  const dir = await fsp.mkdtemp(path.join(f.root, 'tar-'));
  await fsp.writeFile(path.join(dir, name), content);
  const out = execFileSync('tar', ['-C', dir, '-cf', '-', name]);
  await fsp.rm(dir, { recursive: true, force: true });
  return out;
}

test('run --rm: the attached CLI cleans up itself; killed before the exit, the monitor does it', async () => {
  const { spawn } = await import('node:child_process');
  const { WHARF_BIN } = await import('../../helpers/cli.js');
  // Attached: the monitor hands the cleanup to the waiting CLI (no third process); nothing is left when run returns.
  const runDirsBefore = new Set(await fsp.readdir(path.join(f.root, 'run', 'c')).catch(() => []));
  const r = await f.cli([
    'run',
    '--rm',
    '--name',
    'rm-attached',
    '--network',
    'bridge',
    'busybox',
    'sh',
    '-c',
    'exit 3',
  ]);
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(ok(await f.cli(['ps', '-a', '-q', '--filter', 'name=rm-attached']), 'ps').stdout, '');
  // (Earlier tests' monitors may still be removing their own dirs: only a new one would be this run's leftover.)
  const runDirs = await fsp.readdir(path.join(f.root, 'run', 'c')).catch(() => []);
  assert.deepEqual(
    runDirs.filter((d) => !runDirsBefore.has(d)),
    [],
    'the run left no run-time dir',
  );
  assert.ok(!execFileSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' }).includes('rm-attached'));

  // An --rm container's layer is mounted volatile; mounted for cp before it starts, it mounts again for the start.
  const created = ok(
    await f.cli(['create', '--rm', '--name', 'rm-cp', 'busybox', 'cat', '/copied']),
    'create --rm',
  ).stdout.trim();
  ok(
    await f.cli(['cp', '-', 'rm-cp:/'], { input: await tarOf('copied', 'via cp\n') }),
    'cp into a created --rm container',
  );
  const started = ok(await f.cli(['start', '-a', 'rm-cp']), 'start -a');
  assert.equal(started.stdout, 'via cp\n');
  await assertNothingLeft(f.root, created);

  // Without --rm the monitor's last state names the client that cleaned up, and the container is Exited, unmounted.
  const kept = ok(await f.cli(['run', '--name', 'kept', 'busybox', 'true']), 'run kept');
  assert.equal(kept.stdout, '');
  const keptId = ok(await f.cli(['ps', '-a', '-q', '--no-trunc', '--filter', 'name=kept']), 'ps').stdout.trim();
  const st = JSON.parse(
    await fsp.readFile(path.join(f.root, 'run', 'c', keptId.slice(0, 12), 'state.json'), 'utf8'),
  ) as { cleanupBy?: number; cleanedUp?: boolean };
  assert.equal(typeof st.cleanupBy, 'number');
  assert.notEqual(st.cleanedUp, true);
  assert.match(
    ok(await f.cli(['ps', '-a', '--filter', 'name=kept', '--format', '{{.Status}}']), 'ps').stdout,
    /^Exited \(0\) /,
  );
  assert.ok(!execFileSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' }).includes(keptId));
  ok(await f.cli(['rm', 'kept']), 'rm kept');

  // The attached CLI dies while the container runs: the claim goes with its socket and the monitor cleans up.
  const cli = spawn(WHARF_BIN, ['--root', f.root, 'run', '--rm', '--name', 'rm-orphan', 'busybox', 'sleep', '1'], {
    stdio: 'ignore',
  });
  let id = '';
  await until(async () => {
    id = (await f.cli(['ps', '-q', '--no-trunc', '--filter', 'name=rm-orphan'])).stdout.trim();
    return id !== '';
  }, 'the attached run is up');
  cli.kill('SIGKILL');
  await until(
    async () => (await f.cli(['ps', '-a', '-q', '--filter', 'name=rm-orphan'])).stdout === '',
    'the monitor removed it',
    20_000,
  );
  await until(
    async () =>
      fsp.stat(path.join(f.root, 'run', 'c', id.slice(0, 12))).then(
        () => false,
        () => true,
      ),
    'its run-time dir is gone',
  );
  await assertNothingLeft(f.root, id);
});

test('every container gets the native monitor; a CLI that starts no container leaves no monitor behind', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const mark = `monitor-${process.pid}-${Date.now()}`;
  const marked = (): number[] =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter((pid) => {
        try {
          return (
            readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`WHARF_TEST_MARK=${mark}`) &&
            /wharf-monitor/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))
          );
        } catch {
          return false;
        }
      });
  const env = { WHARF_TEST_MARK: mark };
  const id = ok(
    await f.cli(['run', '-d', '--name', 'native-mon', 'busybox', 'sleep', '60'], { env }),
    'run -d',
  ).stdout.trim();
  const st = JSON.parse(await fsp.readFile(path.join(f.root, 'run', 'c', id.slice(0, 12), 'state.json'), 'utf8')) as {
    monitorPid: number;
  };
  const cmdline = (await fsp.readFile(`/proc/${st.monitorPid}/cmdline`, 'utf8')).split('\0');
  assert.equal(path.basename(cmdline[0]!), 'wharf-monitor', cmdline.join(' '));
  assert.deepEqual(marked(), [st.monitorPid], 'of that run, only its monitor is left');
  // start of a running container and a run of a missing image start no monitor.
  ok(await f.cli(['start', 'native-mon'], { env }), 'start running');
  assert.equal((await f.cli(['run', 'no-such-image:1'], { env })).code, 125);
  assert.equal(marked().length, 1);
  ok(await f.cli(['rm', '-f', 'native-mon']), 'rm');
  await until(async () => marked().length === 0, 'the monitor exits after rm -f', 10_000);
});

test('WHARF_NATIVE=0 turns the addons off, not the monitor: it is then started through child_process', async () => {
  const plain = ok(
    await f.cli(['run', '--rm', 'busybox', 'sh', '-c', 'echo plain; echo err >&2'], { env: { WHARF_NATIVE: '0' } }),
    'run, WHARF_NATIVE=0',
  );
  assert.equal(plain.stdout, 'plain\n');
  assert.equal(plain.stderr, 'err\n');
});

test('run with a memory limit (the OOM watch) gets the same native monitor', async () => {
  const id = ok(await f.cli(['run', '-d', '-m', '64m', 'busybox', 'sleep', '30']), 'run -d -m').stdout.trim();
  const st = JSON.parse(await fsp.readFile(path.join(f.root, 'run', 'c', id.slice(0, 12), 'state.json'), 'utf8')) as {
    monitorPid: number;
  };
  const cmdline = (await fsp.readFile(`/proc/${st.monitorPid}/cmdline`, 'utf8')).split('\0');
  assert.equal(path.basename(cmdline[0]!), 'wharf-monitor', cmdline.join(' '));
  ok(await f.cli(['rm', '-f', id]), 'rm -f');
});
