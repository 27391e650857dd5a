import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ok, WHARF_BIN } from '../../helpers/cli.js';
import { until, withBusybox, type Fixture } from './fixture.js';

let f: Fixture;
let host: string;
before(async () => {
  f = await withBusybox(
    'wharf-ctr-exec-',
    async (rootfs) => {
      await fsp.mkdir(path.join(rootfs, 'seed'), { recursive: true });
      await fsp.writeFile(path.join(rootfs, 'seed/from-image'), 'seeded\n');
    },
    ['VOLUME /anon'],
  );
  host = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-cp-host-'));
});
after(async () => {
  await f?.cleanup();
  if (host) await fsp.rm(host, { recursive: true, force: true });
});

test('exec: output, exit codes, -e, -w, -u, stdin with -i, errors for a stopped container', async () => {
  ok(await f.cli(['run', '-d', '--name', 'ex', 'busybox', 'sleep', '300']), 'run');
  const r = await f.cli([
    'exec',
    '-e',
    'X=1',
    '-w',
    '/tmp',
    '-u',
    'www',
    'ex',
    'sh',
    '-c',
    'echo $X; pwd; id -u; echo oops >&2; exit 4',
  ]);
  assert.equal(r.code, 4);
  assert.equal(r.stdout, '1\n/tmp\n33\n');
  assert.equal(r.stderr, 'oops\n');
  const nf = await f.cli(['exec', 'ex', 'nope']);
  assert.equal(nf.code, 127);
  assert.equal(nf.stderr.trim().split('\n').length, 1, nf.stderr);
  const cat = ok(await f.cli(['exec', '-i', 'ex', 'cat'], { input: 'piped in\n' }), 'exec -i');
  assert.equal(cat.stdout, 'piped in\n');

  // An exec client killed mid-exec cannot remove its scratch dir (runc's process.json, pid file, log); the next
  // exec removes it once it is a minute old. TMPDIR keeps this test's dirs apart from every other exec's.
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-exec-tmp-'));
  try {
    const scratchParent = path.join(tmp, `wharf-exec-${process.getuid?.() ?? 0}`);
    const client = spawn(WHARF_BIN, ['--root', f.root, 'exec', 'ex', 'sleep', '30'], {
      env: { ...process.env, TMPDIR: tmp },
      stdio: 'ignore',
    });
    // Until runc has written its pid file (the process runs): the dir changes no more, so its age can be set.
    let started = '';
    await until(async () => {
      const names = await fsp.readdir(scratchParent).catch(() => [] as string[]);
      started = names.find((n) => n.startsWith(`${client.pid}-`)) ?? '';
      return started !== '' && (await fsp.readdir(path.join(scratchParent, started))).includes('pid');
    }, "the exec client's scratch dir with runc's pid file");
    const gone = new Promise((resolve) => client.on('exit', resolve));
    client.kill('SIGKILL');
    await gone;
    const left = path.join(scratchParent, started);
    const anHourAgo = new Date(Date.now() - 3600_000);
    await fsp.utimes(left, anHourAgo, anHourAgo);
    ok(await f.cli(['exec', 'ex', 'true'], { env: { TMPDIR: tmp } }), 'exec after a killed one');
    assert.deepEqual(await fsp.readdir(scratchParent), [], "the killed client's dir and the finished exec's are gone");
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
  ok(await f.cli(['stop', '-t', '0', 'ex']), 'stop');
  const stopped = await f.cli(['exec', 'ex', 'true']);
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /is not running/);
  ok(await f.cli(['rm', 'ex']), 'rm');
});

test('cp both ways with Docker path semantics, and tar streams with -', async () => {
  ok(await f.cli(['run', '-d', '--name', 'cpc', 'busybox', 'sleep', '300']), 'run');
  await fsp.writeFile(path.join(host, 'a.txt'), 'A\n');
  await fsp.mkdir(path.join(host, 'dir/inner'), { recursive: true });
  await fsp.writeFile(path.join(host, 'dir/inner/b.txt'), 'B\n');

  ok(await f.cli(['cp', path.join(host, 'a.txt'), 'cpc:/tmp/']), 'cp file into dir');
  ok(await f.cli(['cp', path.join(host, 'a.txt'), 'cpc:/tmp/renamed.txt']), 'cp file to new name');
  ok(await f.cli(['cp', path.join(host, 'dir'), 'cpc:/tmp']), 'cp dir into dir');
  ok(await f.cli(['cp', path.join(host, 'dir') + '/.', 'cpc:/root']), 'cp dir contents');
  ok(await f.cli(['cp', path.join(host, 'dir'), 'cpc:/newdir']), 'cp dir to new name');
  const listing = ok(
    await f.cli([
      'exec',
      'cpc',
      'sh',
      '-c',
      'cat /tmp/a.txt /tmp/renamed.txt /tmp/dir/inner/b.txt /root/inner/b.txt /newdir/inner/b.txt',
    ]),
    'exec',
  ).stdout;
  assert.equal(listing, 'A\nA\nB\nB\nB\n', 'the running container sees the copies');
  const missingParent = await f.cli(['cp', path.join(host, 'a.txt'), 'cpc:/nope/x.txt']);
  assert.notEqual(missingParent.code, 0);

  ok(
    await f.cli(['exec', 'cpc', 'sh', '-c', 'mkdir -p /out/sub; echo C > /out/sub/c.txt; ln -s /etc/passwd /out/link']),
    'exec',
  );
  ok(await f.cli(['cp', 'cpc:/out', path.join(host, 'got')]), 'cp dir out to new name');
  assert.equal(await fsp.readFile(path.join(host, 'got/sub/c.txt'), 'utf8'), 'C\n');
  assert.equal(await fsp.readlink(path.join(host, 'got/link')), '/etc/passwd', 'links are copied as links');
  ok(await f.cli(['cp', '-L', 'cpc:/out/link', path.join(host, 'followed')]), 'cp -L');
  assert.match(
    await fsp.readFile(path.join(host, 'followed'), 'utf8'),
    /^www:x:33:33:www:\/var\/www:/m,
    'with -L the link target, inside the container',
  );
  ok(await f.cli(['cp', 'cpc:/out', path.join(host, 'got')]), 'cp dir out into existing dir');
  await fsp.stat(path.join(host, 'got/out/sub/c.txt'));
  ok(await f.cli(['cp', 'cpc:/out/sub/.', host]), 'cp contents out');
  assert.equal(await fsp.readFile(path.join(host, 'c.txt'), 'utf8'), 'C\n');
  const missing = await f.cli(['cp', 'cpc:/no/such', host]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Could not find the file \/no\/such in container cpc/);

  // `-`: a tar stream both ways
  const tarOut = await new Promise<Buffer>((resolve, reject) => {
    const p = spawn(WHARF_BIN, ['--root', f.root, 'cp', 'cpc:/out/sub', '-']);
    const chunks: Buffer[] = [];
    p.stdout.on('data', (c: Buffer) => chunks.push(c));
    p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`cp - exited ${code}`))));
  });
  const names = execFileSync('tar', ['-t'], { input: tarOut, encoding: 'utf8' }).split('\n').filter(Boolean);
  assert.deepEqual(names.sort(), ['sub/', 'sub/c.txt']);
  const tarIn = execFileSync('tar', ['-C', host, '-cf', '-', 'a.txt']);
  ok(await f.cli(['cp', '-', 'cpc:/root'], { input: tarIn }), 'cp - into container');
  assert.equal(ok(await f.cli(['exec', 'cpc', 'cat', '/root/a.txt']), 'exec').stdout, 'A\n');

  // a stopped container can be copied from and into too
  ok(await f.cli(['stop', '-t', '0', 'cpc']), 'stop');
  ok(await f.cli(['cp', path.join(host, 'a.txt'), 'cpc:/stopped.txt']), 'cp into stopped');
  ok(await f.cli(['cp', 'cpc:/stopped.txt', path.join(host, 'back.txt')]), 'cp from stopped');
  assert.equal(await fsp.readFile(path.join(host, 'back.txt'), 'utf8'), 'A\n');
  assert.match(ok(await f.cli(['diff', 'cpc']), 'diff').stdout, /A \/stopped\.txt/);
  const mounts = execFileSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' });
  assert.ok(!mounts.includes(f.root), 'the stopped container is not left mounted');
  ok(await f.cli(['rm', 'cpc']), 'rm');
});

test("cp reaches a running container's volumes, bind and tmpfs mounts, as docker cp does", async () => {
  const bind = path.join(host, 'cp-bind');
  await fsp.mkdir(bind);
  ok(
    await f.cli([
      'run',
      '-d',
      '--name',
      'cpv',
      '-v',
      'cpvol:/data',
      '-v',
      `${bind}:/b`,
      '-v',
      `${bind}:/bro:ro`,
      '--mount',
      'type=tmpfs,destination=/scratch',
      'busybox',
      'sleep',
      '300',
    ]),
    'run',
  );
  try {
    ok(await f.cli(['cp', path.join(host, 'a.txt'), 'cpv:/data/in-volume.txt']), 'cp into the volume');
    ok(await f.cli(['cp', path.join(host, 'a.txt'), 'cpv:/b/in-bind.txt']), 'cp into the bind mount');
    ok(await f.cli(['cp', path.join(host, 'a.txt'), 'cpv:/scratch/in-tmpfs.txt']), 'cp into the tmpfs');
    const seen = ok(
      await f.cli(['exec', 'cpv', 'cat', '/data/in-volume.txt', '/b/in-bind.txt', '/scratch/in-tmpfs.txt']),
      'exec',
    ).stdout;
    assert.equal(seen, 'A\nA\nA\n');
    assert.equal(await fsp.readFile(path.join(bind, 'in-bind.txt'), 'utf8'), 'A\n', 'the bind source has it');
    const vol = JSON.parse(ok(await f.cli(['volume', 'inspect', 'cpvol']), 'volume inspect').stdout)[0];
    assert.equal(await fsp.readFile(path.join(vol.Mountpoint, 'in-volume.txt'), 'utf8'), 'A\n', 'the volume has it');
    assert.doesNotMatch(
      ok(await f.cli(['diff', 'cpv']), 'diff').stdout,
      /in-volume|in-bind|in-tmpfs/,
      'nothing landed in the writable layer',
    );

    ok(await f.cli(['exec', 'cpv', 'sh', '-c', 'echo T > /scratch/made-inside.txt']), 'exec write');
    ok(await f.cli(['cp', 'cpv:/scratch/made-inside.txt', path.join(host, 'from-tmpfs.txt')]), 'cp out of the tmpfs');
    assert.equal(await fsp.readFile(path.join(host, 'from-tmpfs.txt'), 'utf8'), 'T\n');
    const ro = await f.cli(['cp', path.join(host, 'a.txt'), 'cpv:/bro/x.txt']);
    assert.notEqual(ro.code, 0, 'a read-only mount refuses the copy');

    // The whole tree: the container's /proc and /sys come as empty directories, its tmpfs with its files.
    const tarred = execFileSync(WHARF_BIN, ['--root', f.root, 'cp', 'cpv:/', '-'], { maxBuffer: 256 << 20 });
    const names = execFileSync('tar', ['-t'], { input: tarred, encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n');
    for (const n of ['./bin/busybox', './proc/', './sys/', './scratch/made-inside.txt'])
      assert.ok(names.includes(n), n);
    assert.ok(!names.some((n) => n.startsWith('./proc/') && n !== './proc/'), "nothing from the container's /proc");
    const whole = path.join(host, 'whole');
    await fsp.mkdir(whole);
    ok(await f.cli(['cp', 'cpv:/', whole]), 'cp / into a host dir');
    assert.ok((await fsp.stat(path.join(whole, 'bin', 'busybox'))).isFile());
    assert.deepEqual(await fsp.readdir(path.join(whole, 'sys')), []);
  } finally {
    await f.cli(['rm', '-f', '-v', 'cpv']);
    await f.cli(['volume', 'rm', 'cpvol']);
  }
});

test('volumes: bind, named (seeded from the image), anonymous for VOLUME, --volumes-from, volume commands', async () => {
  const volsBefore = new Set(
    ok(await f.cli(['volume', 'ls', '-q']), 'volume ls')
      .stdout.split('\n')
      .filter(Boolean),
  );
  const bind = path.join(host, 'bind');
  await fsp.mkdir(bind);
  await fsp.writeFile(path.join(bind, 'host.txt'), 'from host\n');
  const r = ok(
    await f.cli([
      'run',
      '--name',
      'v1',
      '-v',
      `${bind}:/mnt/b`,
      '-v',
      'named1:/seed',
      '-v',
      `${bind}:/mnt/ro:ro`,
      'busybox',
      'sh',
      '-c',
      'cat /mnt/b/host.txt; echo written > /mnt/b/ctr.txt; cat /seed/from-image; echo kept > /seed/new; touch /mnt/ro/x 2>/dev/null || echo ro-refused; echo anon > /anon/a',
    ]),
    'run with volumes',
  );
  assert.equal(r.stdout, 'from host\nseeded\nro-refused\n');
  assert.equal(await fsp.readFile(path.join(bind, 'ctr.txt'), 'utf8'), 'written\n');
  const diff = ok(await f.cli(['diff', 'v1']), 'diff').stdout;
  assert.doesNotMatch(diff, /\/seed\/new|\/anon\/a|ctr\.txt/, 'volume content is not in the writable layer');

  const vols = ok(await f.cli(['volume', 'ls', '-q']), 'volume ls')
    .stdout.split('\n')
    .filter((v) => v && !volsBefore.has(v));
  assert.ok(vols.includes('named1'));
  assert.equal(vols.length, 2, 'named1 and the anonymous /anon volume');
  const vi = JSON.parse(ok(await f.cli(['volume', 'inspect', 'named1']), 'volume inspect').stdout)[0];
  assert.equal(vi.Name, 'named1');
  assert.equal(await fsp.readFile(path.join(vi.Mountpoint, 'new'), 'utf8'), 'kept\n');
  const inUse = await f.cli(['volume', 'rm', 'named1']);
  assert.equal(inUse.code, 1);
  assert.match(inUse.stderr, /volume is in use/);

  const from = ok(
    await f.cli([
      'run',
      '--rm',
      '--volumes-from',
      'v1',
      'busybox',
      'sh',
      '-c',
      'cat /seed/new /anon/a /mnt/b/host.txt',
    ]),
    'volumes-from',
  );
  assert.equal(from.stdout, 'kept\nanon\nfrom host\n');
  const named2 = ok(await f.cli(['run', '--rm', '-v', 'named1:/data', 'busybox', 'cat', '/data/new']), 'reuse named');
  assert.equal(named2.stdout, 'kept\n', 'an existing volume is not seeded again');

  const doc = JSON.parse(ok(await f.cli(['inspect', 'v1']), 'inspect').stdout)[0];
  const dests = doc.Mounts.map((m: { Destination: string }) => m.Destination).sort();
  assert.deepEqual(dests, ['/anon', '/mnt/b', '/mnt/ro', '/seed']);

  ok(await f.cli(['rm', '-v', 'v1']), 'rm -v');
  const left = ok(await f.cli(['volume', 'ls', '-q']), 'volume ls')
    .stdout.split('\n')
    .filter((v) => v && !volsBefore.has(v));
  assert.deepEqual(left, ['named1'], 'rm -v removes the anonymous volume only');
  ok(await f.cli(['volume', 'create', '--label', 'k=v', 'extra']), 'volume create');
  assert.equal(ok(await f.cli(['volume', 'ls', '-q', '--filter', 'label=k=v']), 'ls filter').stdout, 'extra\n');
  ok(await f.cli(['volume', 'rm', 'named1', 'extra']), 'volume rm');
  assert.equal(ok(await f.cli(['volume', 'ls', '-q', '--filter', 'name=named1']), 'ls').stdout, '');
  // anonymous volumes of containers removed without -v are what `volume prune` is for
  ok(await f.cli(['volume', 'prune', '-f']), 'volume prune');
  assert.equal(ok(await f.cli(['volume', 'ls', '-q']), 'ls').stdout, '');
  const bad = await f.cli(['run', '--rm', '-v', 'rel/path:/x', 'busybox', 'true']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /If you intended to pass a host directory, use absolute path/);
});

test('export streams the file system; top lists processes; container prune removes stopped ones', async () => {
  ok(await f.cli(['run', '-d', '--name', 'tp', 'busybox', 'sh', '-c', 'echo exported > /e.txt; sleep 300']), 'run');
  await until(async () => (await f.cli(['diff', 'tp'])).stdout.includes('/e.txt'), 'file written');
  const top = ok(await f.cli(['top', 'tp']), 'top').stdout;
  assert.match(top, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/m);
  assert.match(top, /sleep 300/);
  const out = path.join(host, 'export.tar');
  ok(await f.cli(['export', '-o', out, 'tp']), 'export');
  const names = execFileSync('tar', ['-tf', out], { encoding: 'utf8' });
  assert.match(names, /(^|\/)e\.txt$/m);
  assert.match(names, /(^|\/)bin\/busybox$/m);
  ok(await f.cli(['create', '--name', 'idle', 'busybox']), 'create');
  const pr = ok(await f.cli(['container', 'prune', '-f']), 'prune').stdout;
  assert.match(pr, /Deleted Containers:\n[0-9a-f]{64}\n/);
  const ps = ok(await f.cli(['ps', '-a', '--format', '{{.Names}}']), 'ps').stdout;
  assert.equal(ps, 'tp\n', 'the running one stays');
  ok(await f.cli(['rm', '-f', 'tp']), 'rm');
});
