import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ok } from '../../helpers/cli.js';
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
