import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ok, WHARF_BIN } from '../../helpers/cli.js';
import { withBusybox, type Fixture } from './fixture.js';

let f: Fixture;
let host: string;
before(async () => {
  f = await withBusybox('wharf-ctr-moreflags-');
  host = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-moreflags-host-'));
});
after(async () => {
  await f?.cleanup();
  if (host) await fsp.rm(host, { recursive: true, force: true });
});

test('volume create -o: the local driver mounts tmpfs and binds on the volume; its checks and messages', async () => {
  // dockerd 28's messages for these (checked against a private dockerd).
  for (const [opts, msg] of [
    [['-o', 'foo=1'], 'create vv: invalid option: "foo"'],
    [['-o', 'foo'], 'create vv: invalid option: "foo"'],
    [['-o', 'device=/tmp'], 'create vv: missing required option: "type"'],
    [['-o', 'type=tmpfs'], 'create vv: missing required option: "device"'],
    [['-o', 'size=1m'], 'create vv: quota size requested but no quota support'],
  ] as const) {
    const r = await f.cli(['volume', 'create', ...opts, 'vv']);
    assert.equal(r.code, 1, `${opts.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(msg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  }
  ok(await f.cli(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=1m', 'vt']), 'create');
  const inspect = JSON.parse(ok(await f.cli(['volume', 'inspect', 'vt']), 'inspect').stdout) as Array<{
    Options: Record<string, string>;
  }>;
  assert.deepEqual(inspect[0]!.Options, { device: 'tmpfs', o: 'size=1m', type: 'tmpfs' });
  const df = ok(
    await f.cli(['run', '--rm', '-v', 'vt:/data', 'busybox', 'sh', '-c', 'grep " /data " /proc/mounts']),
    'run',
  );
  assert.match(df.stdout, /^tmpfs \/data tmpfs .*size=1024k/m);

  await fsp.writeFile(path.join(host, 'from-host'), 'hi\n');
  ok(await f.cli(['volume', 'create', '-o', 'type=none', '-o', `device=${host}`, '-o', 'o=bind', 'vb']), 'create');
  const cat = ok(
    await f.cli(['run', '--rm', '-v', 'vb:/data', 'busybox', 'sh', '-c', 'cat /data/from-host; echo x > /data/back']),
    'run',
  );
  assert.equal(cat.stdout, 'hi\n');
  assert.equal(await fsp.readFile(path.join(host, 'back'), 'utf8'), 'x\n');
  ok(await f.cli(['volume', 'rm', 'vb']), 'volume rm');
  // Removing the volume unmounts the bind first: the host directory keeps its files.
  assert.equal(await fsp.readFile(path.join(host, 'from-host'), 'utf8'), 'hi\n');

  ok(
    await f.cli(['volume', 'create', '-o', 'type=none', '-o', 'device=/nonexistent-wharf', '-o', 'o=bind', 'vx']),
    'c',
  );
  const bad = await f.cli(['run', '--rm', '-v', 'vx:/data', 'busybox', 'true']);
  assert.notEqual(bad.code, 0);
  assert.match(
    bad.stderr,
    /error while mounting volume '.*vx\/_data': failed to mount local volume: mount \/nonexistent-wharf:/,
  );
});

test('logs --details: the attrs of the labels and env log opts before each line, as dockerd adds them', async () => {
  ok(
    await f.cli([
      'run',
      '--name',
      'det',
      '--log-opt',
      'labels=app',
      '--log-opt',
      'env=MODE',
      '-l',
      'app=web 1',
      '-e',
      'MODE=x',
      'busybox',
      'echo',
      'hello',
    ]),
    'run',
  );
  assert.equal(ok(await f.cli(['logs', '--details', 'det']), 'logs').stdout, 'MODE=x,app=web+1 hello\n');
  assert.equal(ok(await f.cli(['logs', 'det']), 'logs').stdout, 'hello\n');
  ok(await f.cli(['run', '--name', 'plain', 'busybox', 'echo', 'hi']), 'run');
  assert.equal(ok(await f.cli(['logs', '--details', 'plain']), 'logs').stdout, ' hi\n');
});

test('cp -q: accepted; nothing is printed either way', async () => {
  ok(await f.cli(['create', '--name', 'cpq', 'busybox']), 'create');
  const r = ok(await f.cli(['cp', '-q', 'cpq:/etc/passwd', path.join(host, 'passwd')]), 'cp -q');
  assert.equal(r.stdout + r.stderr, '');
  assert.match(await fsp.readFile(path.join(host, 'passwd'), 'utf8'), /^root:/);
});

test('history/save/rmi/load --platform: the image of that platform, else dockerd not-found message', async () => {
  const wrong =
    /image with reference busybox was found but does not match the specified platform: wanted linux\/s390x, actual: linux\//;
  for (const args of [
    ['history', '--platform', 'linux/s390x', 'busybox'],
    ['save', '--platform', 'linux/s390x', '-o', path.join(host, 'x.tar'), 'busybox'],
    ['rmi', '--platform', 'linux/s390x', 'busybox'],
  ]) {
    const r = await f.cli(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, wrong, args.join(' '));
  }
  const here = `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`;
  ok(await f.cli(['history', '--platform', here, '-q', 'busybox']), 'history --platform');
  const tar = path.join(host, 'bb.tar');
  ok(await f.cli(['save', '--platform', here, '-o', tar, 'busybox']), 'save --platform');
  const none = await f.cli(['load', '--platform', 'linux/s390x', '-i', tar]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no image for platform linux\/s390x in the archive/);
  assert.match(ok(await f.cli(['load', '--platform', here, '-i', tar]), 'load').stdout, /Loaded image: busybox:latest/);
});

test('stop/restart -t, --timeout (and the deprecated --time), restart -s; rm --link as dockerd without links', async () => {
  ok(await f.cli(['run', '-d', '--name', 'st', '--network', 'none', 'busybox', 'sleep', '300']), 'run');
  const bad = await f.cli(['stop', '-t', 'x', 'st']);
  assert.equal(bad.code, 125);
  assert.match(
    bad.stderr,
    /invalid argument "x" for "-t, --timeout" flag: strconv\.ParseInt: parsing "x": invalid syntax/,
  );
  // sleep as PID 1 ignores SIGTERM: -t 0 kills at once.
  const stop = ok(await f.cli(['stop', '--timeout', '0', 'st']), 'stop --timeout');
  assert.equal(stop.stdout, 'st\n');
  ok(await f.cli(['start', 'st']), 'start');
  const old = ok(await f.cli(['stop', '--time', '0', 'st']), 'stop --time');
  assert.equal(old.stderr, 'Flag --time has been deprecated, use --timeout instead\n');
  assert.equal(ok(await f.cli(['restart', '-s', 'KILL', '-t', '0', 'st']), 'restart -s').stdout, 'st\n');
  assert.equal(ok(await f.cli(['inspect', '-f', '{{.State.Running}}', 'st']), 'inspect').stdout.trim(), 'true');
  const events = ok(await f.cli(['events', '--since', '0', '--until', '0s', '--filter', 'container=st']), 'events');
  assert.match(events.stdout, /container kill [0-9a-f]{64} .*signal=9/);

  const link = await f.cli(['rm', '--link', 'st']);
  assert.equal(link.code, 1);
  assert.match(link.stderr, /Conflict, cannot remove the default link name of the container/);
  const none = await f.cli(['rm', '-l', '/st/alias']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /No such container: \/?st\/alias/);
  ok(await f.cli(['rm', '-f', 'st']), 'rm');
});

test('exec/start --detach-keys: the sequence detaches the CLI, the process runs on; exec checks the keys', async () => {
  const pty = await import('node-pty');
  ok(await f.cli(['run', '-d', '--name', 'dk', '--network', 'none', 'busybox', 'sleep', '300']), 'run');
  const bad = await f.cli(['exec', '--detach-keys', 'bogus', 'dk', 'true']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'Error response from daemon: Invalid escape keys (bogus) provided\n');

  const session = (args: string[]) => {
    const term = pty.spawn(WHARF_BIN, ['--root', f.root, ...args], {
      cols: 80,
      rows: 20,
      env: process.env as Record<string, string>,
    });
    let out = '';
    term.onData((d) => (out += d));
    const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
    const waitFor = async (re: RegExp): Promise<void> => {
      for (let i = 0; i < 150 && !re.test(out); i++) await sleep(100);
      assert.match(out, re);
    };
    return { term, exited, waitFor };
  };
  const script = 'echo ready; read x; echo "after-$x" > /tmp/after; sleep 300';
  const a = session(['exec', '-it', '--detach-keys', 'ctrl-a,x', 'dk', 'sh', '-c', script]);
  await a.waitFor(/ready/);
  a.term.write('typed\r\x01x');
  assert.equal(await Promise.race([a.exited, sleep(20_000).then(() => -1)]), 0, 'detached');
  let after = '';
  for (let i = 0; i < 100 && !after; i++) {
    after = (await f.cli(['exec', 'dk', 'cat', '/tmp/after'])).stdout;
    if (!after) await sleep(100);
  }
  assert.equal(after, 'after-typed\n');
  // The exec'd shell is still there after the detach (its `sleep 300`).
  assert.match(ok(await f.cli(['exec', 'dk', 'ps']), 'ps').stdout, /sleep 300\n[\s\S]*sleep 300/);

  ok(await f.cli(['create', '-it', '--name', 'dk2', '--network', 'none', 'busybox', 'sh']), 'create');
  const b = session(['start', '-ai', '--detach-keys', 'ctrl-a,x', 'dk2']);
  b.term.write('echo $((6*7))\r');
  await b.waitFor(/42/);
  b.term.write('\x01x');
  assert.equal(await Promise.race([b.exited, sleep(20_000).then(() => -1)]), 0, 'start detached');
  assert.equal(ok(await f.cli(['inspect', '-f', '{{.State.Running}}', 'dk2']), 'inspect').stdout.trim(), 'true');
  ok(await f.cli(['rm', '-f', 'dk', 'dk2']), 'rm');
});

test('run/create --runtime, --storage-opt, --volume-driver, --use-api-socket: what Wharf has, else dockerd words', async () => {
  ok(
    await f.cli(['create', '--name', 'rt', '--runtime', 'runc', '--volume-driver', 'local', '-v', 'rtv:/x', 'busybox']),
    'create',
  );
  const hc = ok(
    await f.cli(['inspect', '-f', '{{.HostConfig.Runtime}} {{.HostConfig.VolumeDriver}}', 'rt']),
    'inspect',
  );
  assert.equal(hc.stdout, 'runc local\n');
  const cases: Array<[string[], number, RegExp]> = [
    [
      ['create', '--runtime', 'crun', 'busybox'],
      1,
      /^Error response from daemon: unknown or invalid runtime name: crun$/m,
    ],
    [['run', '--rm', '--runtime', 'crun', 'busybox', 'true'], 125, /unknown or invalid runtime name: crun/],
    [['create', '--storage-opt', 'size', 'busybox'], 125, /invalid storage option/],
    [['create', '--storage-opt', 'foo=1', 'busybox'], 1, /^Error response from daemon: Unknown option foo$/m],
    [
      ['create', '--volume-driver', 'foo', '-v', 'vd:/x', 'busybox'],
      1,
      /error looking up volume plugin foo: plugin "foo" not found/,
    ],
    [['create', '--use-api-socket', 'busybox'], 125, /--use-api-socket: Wharf has no Engine API socket/],
  ];
  for (const [args, code, msg] of cases) {
    const r = await f.cli(args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg, args.join(' '));
  }
  // size= needs overlay on XFS with project quotas; the host's file system decides which refusal.
  const size = await f.cli(['create', '--storage-opt', 'size=1G', 'busybox']);
  assert.equal(size.code, 1);
  assert.match(
    size.stderr,
    /--storage-opt is supported only for overlay over xfs with 'pquota' mount option|does not set XFS project quotas/,
  );
  // A bind and no volume: the driver is never asked.
  ok(await f.cli(['create', '--volume-driver', 'foo', '-v', `${host}:/x`, 'busybox']), 'bind with another driver');
});

test('images --tree: each image with its names and its platform row, U when a container uses it', async () => {
  ok(await f.cli(['create', '--name', 'tree-user', 'busybox']), 'create');
  const out = ok(await f.cli(['images', '--tree']), 'images --tree').stdout.split('\n');
  assert.match(out[0]!, /^WARNING: This is an experimental feature/);
  assert.match(out[1]!, /^IMAGE\s+ID\s+DISK USAGE\s+CONTENT SIZE\s+EXTRA$/);
  const row = out.findIndex((l) => l.startsWith('busybox:latest '));
  assert.match(out[row]!, /^busybox:latest\s+[0-9a-f]{12}\s+\S+B\s+\S+B {3}U {4}$/);
  assert.match(out[row + 1]!, /^└─ linux\/\S+\s+[0-9a-f]{12}\s+\S+B\s+\S+B {3}U {4}$/);
  const q = await f.cli(['images', '--tree', '-q']);
  assert.equal(q.code, 1);
  assert.match(q.stderr, /--quiet is not yet supported with --tree/);
  ok(await f.cli(['rm', 'tree-user']), 'rm');
});
