/**
 * `--userns=auto` end to end (issue 17): a user namespace per container with a range of the `wharf` user's
 * subordinate ids, layers idmapped (not copied), the owners on the host and in commits, `cp` both ways, ranges that
 * never overlap and are released by `rm`, and `userns-remap` in Wharf's config file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ok } from '../../helpers/cli.js';
import { withBusybox, type Fixture } from './fixture.js';
import { UsernsRanges } from '../../../src/container/userns.js';
import { openMetaDb } from '../../../src/meta/index.js';

// The subordinate ids Wharf hands out come from the `wharf` user's lines; a host without them gets them for this file
// (and loses them again after it), as an administrator would add them.
const SUBID_LINE = 'wharf:1000000:10000000\n';
const added: Array<{ file: string; text: string }> = [];
function ensureSubids(): void {
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // no file yet
    }
    if (/^wharf:/m.test(text)) continue;
    added.push({ file, text });
    writeFileSync(file, `${text}${text && !text.endsWith('\n') ? '\n' : ''}${SUBID_LINE}`);
  }
}

let f: Fixture;
before(async () => {
  ensureSubids();
  f = await withBusybox('wharf-userns-', async (rootfs) => {
    await fsp.mkdir(path.join(rootfs, 'owned'));
    await fsp.writeFile(path.join(rootfs, 'owned/by1000'), 'x');
    await fsp.chown(path.join(rootfs, 'owned/by1000'), 1000, 1000);
  });
});
after(async () => {
  await f?.cleanup();
  for (const a of added) writeFileSync(a.file, a.text);
});

/** The first line of /proc/self/uid_map as [inside, outside, size]. */
const uidMap = (text: string): number[] => text.trim().split('\n')[0]!.trim().split(/\s+/).map(Number);

async function hostBase(name: string): Promise<number[]> {
  return uidMap(ok(await f.cli(['exec', name, 'cat', '/proc/self/uid_map']), 'uid_map').stdout);
}

test('--userns=auto: a remapped range; the image keeps its owners inside; inspect shows the mode; exec joins it', async () => {
  const map = uidMap(
    ok(await f.cli(['run', '--rm', '--userns=auto', 'busybox', 'cat', '/proc/self/uid_map']), 'run').stdout,
  );
  assert.equal(map[0], 0);
  assert.ok(map[1]! >= 1000000, `mapped to an unprivileged host range: ${map.join(' ')}`);
  assert.equal(map[2], 65536);
  const inside = ok(
    await f.cli(['run', '--rm', '--userns=auto', 'busybox', 'sh', '-c', 'id -u; stat -c %u:%g /owned/by1000 /bin/sh']),
    'run',
  ).stdout;
  assert.equal(inside, '0\n1000:1000\n0:0\n');
  ok(await f.cli(['run', '-d', '--name', 'u-inspect', '--userns=auto', 'busybox', 'sleep', '60']), 'run -d');
  assert.equal(
    ok(await f.cli(['inspect', '-f', '{{.HostConfig.UsernsMode}}', 'u-inspect']), 'inspect').stdout,
    'auto\n',
  );
  assert.equal(ok(await f.cli(['exec', 'u-inspect', 'id', '-u']), 'exec').stdout, '0\n');
  ok(await f.cli(['rm', '-f', 'u-inspect']), 'rm');
});

test('a remapped container joins the default bridge and a user-defined network natively; its namespace is its own', async () => {
  ok(await f.cli(['network', 'create', 'u-net']), 'network create');
  try {
    for (const net of ['bridge', 'u-net']) {
      // The gateway answers (the veth, addresses and routes are in place), and the container's root, given
      // CAP_NET_ADMIN (in its user namespace), administers its interface: the namespace belongs to that user namespace
      // (one owned by the host's would refuse it).
      const out = ok(
        await f.cli([
          'run',
          '--rm',
          '--userns=auto',
          '--cap-add',
          'NET_ADMIN',
          '--network',
          net,
          'busybox',
          'sh',
          '-c',
          "gw=$(ip route | awk '/default/ {print $3}'); ping -c1 -W2 $gw >/dev/null && echo reached; ip link set eth0 mtu 1400 && echo owned",
        ]),
        `run on ${net}`,
      ).stdout;
      assert.equal(out, 'reached\nowned\n', `on ${net}`);
    }
  } finally {
    ok(await f.cli(['network', 'rm', 'u-net']), 'network rm');
  }
});

test('files written to the writable layer and to a volume are owned by the mapped ids on the host', async () => {
  ok(
    await f.cli([
      'run',
      '-d',
      '--name',
      'u-own',
      '--userns=auto',
      '-v',
      'u-vol:/data',
      'busybox',
      'sh',
      '-c',
      'echo w > /w; echo v > /data/v; mkdir /d; touch /d/u; chown 1000:1000 /d/u; echo more >> /owned/by1000; sleep 60',
    ]),
    'run',
  );
  const [, base] = await hostBase('u-own');
  const upper = ok(await f.cli(['inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', 'u-own']), 'inspect').stdout.trim();
  const vol = ok(await f.cli(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'u-vol']), 'volume inspect').stdout.trim();
  const owner = async (p: string) => {
    const st = await fsp.stat(p);
    return [st.uid, st.gid];
  };
  for (let i = 0; i < 50 && !(await fsp.stat(path.join(upper, 'owned/by1000')).catch(() => null)); i++)
    await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await owner(path.join(upper, 'w')), [base, base]);
  assert.deepEqual(await owner(path.join(upper, 'd/u')), [base! + 1000, base! + 1000]);
  // a file copied up from the image keeps its (shifted) owner
  assert.deepEqual(await owner(path.join(upper, 'owned/by1000')), [base! + 1000, base! + 1000]);
  assert.deepEqual(await owner(vol), [base, base], 'a new volume belongs to the container root');
  assert.deepEqual(await owner(path.join(vol, 'v')), [base, base]);
});

test('commit and export of a remapped container store its own ids (root as 0), not the host ones', async () => {
  ok(await f.cli(['commit', 'u-own', 'u-committed']), 'commit');
  const out = ok(
    await f.cli([
      'run',
      '--rm',
      '--network',
      'none',
      'u-committed',
      'stat',
      '-c',
      '%n %u:%g',
      '/w',
      '/d',
      '/d/u',
      '/owned/by1000',
    ]),
    'run committed',
  ).stdout;
  assert.equal(out, '/w 0:0\n/d 0:0\n/d/u 1000:1000\n/owned/by1000 1000:1000\n');
  // export likewise
  const tarFile = path.join(f.root, 'u-own.tar');
  ok(await f.cli(['export', '-o', tarFile, 'u-own']), 'export');
  const listing = execFileSync('tar', ['--numeric-owner', '-tvf', tarFile, 'w', 'd/u', 'bin/busybox'], {
    encoding: 'utf8',
  });
  assert.match(listing, /^-\S+ 0\/0 .* w$/m);
  assert.match(listing, /^-\S+ 1000\/1000 .* d\/u$/m);
  assert.match(listing, /^-\S+ 0\/0 .* bin\/busybox$/m);
  ok(await f.cli(['rm', '-f', 'u-own']), 'rm');
  ok(await f.cli(['rmi', 'u-committed']), 'rmi');
  ok(await f.cli(['volume', 'rm', 'u-vol']), 'volume rm');
});

test('cp keeps the owners both ways: the container ids outside, the mapped ids on the host inside', async () => {
  ok(
    await f.cli([
      'run',
      '-d',
      '--name',
      'u-cp',
      '--userns=auto',
      'busybox',
      'sh',
      '-c',
      'mkdir /out; touch /out/root /out/user; chown 1000:1000 /out/user; sleep 60',
    ]),
    'run',
  );
  const [, base] = await hostBase('u-cp');
  const dest = path.join(f.root, 'cp-out');
  await fsp.mkdir(dest);
  ok(await f.cli(['cp', 'u-cp:/out', dest]), 'cp out');
  assert.equal((await fsp.stat(path.join(dest, 'out/root'))).uid, 0);
  assert.equal((await fsp.stat(path.join(dest, 'out/user'))).uid, 1000);
  const listing = ok(await f.cli(['cp', 'u-cp:/out', '-']), 'cp out -').stdout;
  assert.match(listing, /out\/user/);
  const src = path.join(f.root, 'cp-in');
  await fsp.writeFile(src, 'in');
  await fsp.chown(src, 1234, 1234);
  ok(await f.cli(['cp', src, 'u-cp:/in-plain']), 'cp in');
  ok(await f.cli(['cp', '-a', src, 'u-cp:/in-archive']), 'cp -a in');
  const inside = ok(await f.cli(['exec', 'u-cp', 'stat', '-c', '%u', '/in-plain', '/in-archive']), 'exec').stdout;
  assert.equal(inside, '0\n1234\n');
  const upper = ok(await f.cli(['inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', 'u-cp']), 'inspect').stdout.trim();
  assert.equal((await fsp.stat(path.join(upper, 'in-plain'))).uid, base);
  assert.equal((await fsp.stat(path.join(upper, 'in-archive'))).uid, base! + 1234);
  ok(await f.cli(['rm', '-f', 'u-cp']), 'rm');
});

test('two containers get ranges that do not overlap; rm releases a range for the next container', async () => {
  const run = async (name: string) =>
    ok(await f.cli(['run', '-d', '--name', name, '--userns=auto', 'busybox', 'sleep', '60']), `run ${name}`);
  await run('u-a');
  await run('u-b');
  const [, a, size] = await hostBase('u-a');
  const [, b] = await hostBase('u-b');
  assert.ok(a! + size! <= b! || b! + size! <= a!, `ranges ${a} and ${b} (size ${size}) overlap`);
  ok(await f.cli(['rm', '-f', 'u-a']), 'rm');
  await run('u-c');
  assert.equal((await hostBase('u-c'))[1], a, 'the released range is handed out again (first fit)');
  ok(await f.cli(['rm', '-f', 'u-b', 'u-c']), 'rm');
});

test('userns-remap in the config file makes auto the default; --userns=host opts out; no ids is a clear error', async () => {
  const conf = path.join(f.root, 'conf');
  await fsp.mkdir(conf);
  await fsp.writeFile(path.join(conf, 'config.json'), JSON.stringify({ 'userns-remap': 'default' }));
  const env = { ...process.env, WHARF_CONFIG: conf };
  const remapped = ok(await f.cli(['run', '--rm', 'busybox', 'cat', '/proc/self/uid_map'], { env }), 'run').stdout;
  assert.notEqual(uidMap(remapped)[1], 0);
  const host = ok(
    await f.cli(['run', '--rm', '--userns=host', 'busybox', 'cat', '/proc/self/uid_map'], { env }),
    'run',
  ).stdout;
  assert.deepEqual(uidMap(host), [0, 0, 4294967295]);
  assert.match(
    ok(await f.cli(['info'], { env }), 'info').stdout,
    /Security Options:\n {2}seccomp\n {3}Profile: builtin\n {2}userns\n/,
  );
  await fsp.writeFile(path.join(conf, 'config.json'), JSON.stringify({ 'userns-remap': 'no-such-subid-user' }));
  const r = await f.cli(['run', '--rm', 'busybox', 'true'], { env });
  assert.equal(r.code, 125);
  assert.match(r.stderr, /no subordinate ids for user "no-such-subid-user" in \/etc\/subuid/);
  assert.equal(ok(await f.cli(['ps', '-aq']), 'ps').stdout, '', 'nothing was created');
});

test('where the kernel takes no idmapped overlay layers: one WARNING at create, a chowned copy, the same owners', async () => {
  // The probe's answer is cached per run root; saying "no" there stands in for an older kernel.
  const cache = path.join(f.root, 'run', 'idmapped-overlay');
  const before = await fsp.readFile(cache, 'utf8');
  await fsp.writeFile(cache, 'no\n');
  try {
    const r = ok(
      await f.cli(['run', '-d', '--name', 'u-copy', '--userns=auto', 'busybox', 'sh', '-c', 'echo w > /w; sleep 60']),
      'run',
    );
    assert.match(r.stderr, /^WARNING: this kernel cannot idmap overlay layers .* copied into the container/m);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    const [, base] = await hostBase('u-copy');
    assert.equal(
      ok(await f.cli(['exec', 'u-copy', 'stat', '-c', '%u', '/bin/sh', '/owned/by1000']), 'exec').stdout,
      '0\n1000\n',
    );
    const upper = ok(
      await f.cli(['inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', 'u-copy']),
      'inspect',
    ).stdout.trim();
    assert.equal((await fsp.lstat(path.join(upper, 'owned/by1000'))).uid, base! + 1000, 'copied up, chowned');
    ok(await f.cli(['rm', '-f', 'u-copy']), 'rm');
  } finally {
    await fsp.writeFile(cache, before);
  }
});

test('system check reports a range whose container is gone and frees it with --repair', async () => {
  const db = openMetaDb(f.root);
  try {
    new UsernsRanges(db).allocate(
      'f'.repeat(64),
      1000,
      { uids: [{ start: 9e6, size: 1e4 }], gids: [{ start: 9e6, size: 1e4 }] },
      'wharf',
    );
  } finally {
    db.close();
  }
  assert.match(
    (await f.cli(['system', 'check'])).stdout,
    /orphan: user namespace range 9000000\+1000 of container ffffffffffff/,
  );
  assert.match(
    ok(await f.cli(['system', 'check', '--repair']), 'repair').stdout,
    /ffffffffffff, which does not exist \(repaired\)/,
  );
  assert.doesNotMatch(ok(await f.cli(['system', 'check']), 'check').stdout, /user namespace range/);
});
