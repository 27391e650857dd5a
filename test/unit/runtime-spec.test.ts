import { test } from 'node:test';
import assert from 'node:assert/strict';
import { is } from '../../src/errors/index.js';
import {
  DEFAULT_CAPABILITIES,
  DOCKER_DEVICE_RULES,
  ALL_CAPABILITIES,
  DEFAULT_PATH,
  buildExecProcess,
  buildSpec,
  mergeEnv,
  containerConfigEnv,
  parseGroup,
  parsePasswd,
  resolveArgs,
  resolveCapabilities,
  resolveEnv,
  resolveUser,
  type SpecOptions,
} from '../../src/runtime/index.js';

const PASSWD =
  'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\n# comment\nbroken line\nnobody:x:65534:65534::/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nwww:x:33:\nstaff:x:50:www,other\naudio:x:29:www\nnogroup:x:65534:\n';
const base: SpecOptions = { rootfs: 'rootfs', network: { mode: 'new' } };

test('passwd and group parsing skip comments and malformed lines', () => {
  assert.deepEqual(
    parsePasswd(PASSWD).map((p) => p.name),
    ['root', 'www', 'nobody'],
  );
  assert.deepEqual(parseGroup(GROUP).find((g) => g.name === 'staff')?.members, ['www', 'other']);
});

test('resolveUser follows runc/Docker rules', () => {
  const cases: Array<[string | undefined, { uid: number; gid: number; additionalGids: number[]; home: string }]> = [
    [undefined, { uid: 0, gid: 0, additionalGids: [], home: '/root' }],
    ['', { uid: 0, gid: 0, additionalGids: [], home: '/root' }],
    ['www', { uid: 33, gid: 33, additionalGids: [50, 29], home: '/var/www' }],
    ['33', { uid: 33, gid: 33, additionalGids: [50, 29], home: '/var/www' }],
    ['www:staff', { uid: 33, gid: 50, additionalGids: [], home: '/var/www' }],
    ['www:7', { uid: 33, gid: 7, additionalGids: [], home: '/var/www' }],
    ['1234', { uid: 1234, gid: 0, additionalGids: [], home: '/' }],
    ['1234:1234', { uid: 1234, gid: 1234, additionalGids: [], home: '/' }],
    ['nobody', { uid: 65534, gid: 65534, additionalGids: [], home: '/nonexistent' }],
  ];
  for (const [spec, want] of cases) assert.deepEqual(resolveUser(spec, PASSWD, GROUP), want, String(spec));
  assert.deepEqual(resolveUser('www', PASSWD, GROUP, ['audio', '1000']).additionalGids, [50, 29, 1000]);
  // no passwd file: numeric ids still work, names do not
  assert.deepEqual(resolveUser('5:6', undefined, undefined), { uid: 5, gid: 6, additionalGids: [], home: '/' });
  for (const bad of ['ghost', 'www:ghosts', 'a:b:c', '99999999999']) {
    assert.throws(
      () => resolveUser(bad, PASSWD, GROUP),
      (e: unknown) => is(e, 'INVALID_ARGUMENT'),
      bad,
    );
  }
  assert.throws(() => resolveUser('ghost', PASSWD, GROUP), /unable to find user ghost/);
});

test('Entrypoint and Cmd combine as in Docker', () => {
  const img = { Entrypoint: ['/ep', '-x'], Cmd: ['default'] };
  const cases: Array<[Parameters<typeof resolveArgs>[1], object, string[]]> = [
    [{}, img, ['/ep', '-x', 'default']],
    [{ command: ['a', 'b'] }, img, ['/ep', '-x', 'a', 'b']],
    [{ entrypoint: ['/other'] }, img, ['/other']],
    [{ entrypoint: ['/other'], command: ['c'] }, img, ['/other', 'c']],
    [{ entrypoint: [''], command: ['sh'] }, img, ['sh']],
    [{ entrypoint: [], command: ['sh'] }, img, ['sh']],
    [{}, { Cmd: ['sh'] }, ['sh']],
    [{ command: ['ls'] }, { Cmd: ['sh'], Entrypoint: null }, ['ls']],
  ];
  for (const [opts, image, want] of cases) assert.deepEqual(resolveArgs(image, opts), want, JSON.stringify(opts));
  assert.throws(
    () => resolveArgs({}, {}),
    (e: unknown) => is(e, 'INVALID_ARGUMENT'),
  );
  assert.throws(() => resolveArgs(img, { entrypoint: [''] }), /no command/);
});

test('environment: defaults, image, -e by key, HOSTNAME, TERM, HOME', () => {
  assert.deepEqual(resolveEnv({}, {}), [`PATH=${DEFAULT_PATH}`]);
  assert.deepEqual(
    resolveEnv(
      { Env: ['PATH=/x', 'A=1', 'B=2'] },
      { env: ['B=3', 'C=4', 'FROMHOST', 'UNSET'], hostEnv: { FROMHOST: 'h' }, hostname: 'box', tty: true },
      '/root',
    ),
    ['PATH=/x', 'HOSTNAME=box', 'TERM=xterm', 'A=1', 'B=3', 'C=4', 'FROMHOST=h', 'HOME=/root'],
  );
  assert.deepEqual(resolveEnv({ Env: ['HOME=/home/x'] }, {}, '/root'), [`PATH=${DEFAULT_PATH}`, 'HOME=/home/x']);
  assert.deepEqual(mergeEnv(['A=1', 'B'], ['B=2', 'A=']), ['A=', 'B=2']);
  // A container config's Env, as dockerd merges it at create: the user's first, then the image's they do not set.
  assert.deepEqual(containerConfigEnv(['PATH=/p', 'A=1', 'B=2'], ['FOO=bar', 'A=9']), [
    'FOO=bar',
    'A=9',
    'PATH=/p',
    'B=2',
  ]);
  assert.throws(
    () => resolveEnv({}, { env: ['=x'] }),
    (e: unknown) => is(e, 'INVALID_ARGUMENT'),
  );
});

test('capabilities: Docker defaults, add/drop, ALL, privileged', () => {
  assert.equal(DEFAULT_CAPABILITIES.length, 14);
  assert.deepEqual(resolveCapabilities(), [...DEFAULT_CAPABILITIES]);
  const added = resolveCapabilities(['net_admin', 'CAP_SYS_ADMIN'], ['chown', 'MKNOD']);
  assert.ok(added.includes('CAP_NET_ADMIN') && added.includes('CAP_SYS_ADMIN'));
  assert.ok(!added.includes('CAP_CHOWN') && !added.includes('CAP_MKNOD'));
  assert.deepEqual(resolveCapabilities(['NET_BIND_SERVICE'], ['ALL']), ['CAP_NET_BIND_SERVICE']);
  assert.deepEqual(resolveCapabilities([], ['all']), []);
  const all = resolveCapabilities(['ALL'], ['SYS_ADMIN']);
  assert.equal(all.length, ALL_CAPABILITIES.length - 1);
  assert.ok(!all.includes('CAP_SYS_ADMIN'));
  assert.equal(resolveCapabilities([], ['ALL'], true).length, ALL_CAPABILITIES.length);
  assert.throws(
    () => resolveCapabilities(['FLY']),
    (e: unknown) => is(e, 'INVALID_ARGUMENT'),
  );
});

test('buildSpec: defaults like Docker/runc', () => {
  const spec = buildSpec({ Cmd: ['sh'], Env: ['A=1'] }, { ...base, hostname: 'h1', passwd: PASSWD, group: GROUP });
  assert.equal(spec.ociVersion, '1.0.2');
  assert.deepEqual(spec.process.args, ['sh']);
  assert.equal(spec.process.cwd, '/');
  assert.equal(spec.process.terminal, false);
  assert.equal(spec.process.noNewPrivileges, false);
  assert.deepEqual(spec.process.user, { uid: 0, gid: 0 });
  assert.deepEqual(spec.process.env, [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=h1', 'A=1', 'HOME=/root']);
  assert.deepEqual(spec.process.capabilities?.bounding, [...DEFAULT_CAPABILITIES]);
  assert.equal('rlimits' in spec.process, false, 'never rlimits: the sandbox refuses prlimit');
  assert.deepEqual(spec.root, { path: 'rootfs', readonly: false });
  assert.equal(spec.hostname, 'h1');
  assert.deepEqual(
    spec.mounts.map((m) => m.destination),
    ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm'],
  );
  assert.ok(spec.mounts.find((m) => m.destination === '/dev/shm')?.options?.includes(`size=${64 * 1024 * 1024}`));
  assert.ok(spec.mounts.find((m) => m.destination === '/sys')?.options?.includes('ro'));
  assert.deepEqual(
    spec.linux.namespaces.map((n) => n.type),
    ['pid', 'ipc', 'uts', 'mount', 'network'],
  );
  assert.ok(spec.linux.maskedPaths?.includes('/proc/kcore'));
  assert.ok(spec.linux.readonlyPaths?.includes('/proc/sys'));
  assert.deepEqual(spec.linux.resources?.devices, DOCKER_DEVICE_RULES);
  assert.equal(spec.linux.sysctl?.['net.ipv4.ip_unprivileged_port_start'], '0');
});

test('buildSpec: options map onto the spec', () => {
  const spec = buildSpec(
    { Cmd: ['httpd'], User: 'www', WorkingDir: '/srv' },
    {
      ...base,
      network: { mode: 'netns', path: '/var/run/netns/wharf-x' },
      passwd: PASSWD,
      group: GROUP,
      tty: true,
      consoleSize: { width: 100, height: 30 },
      readOnly: true,
      memory: 64 * 1024 * 1024,
      cpus: 1.5,
      pidsLimit: 100,
      shmSize: 1024 * 1024,
      capDrop: ['NET_RAW'],
      mounts: [
        { type: 'bind', source: '/data', destination: '/data', readOnly: true },
        { type: 'bind', source: '/x', destination: '/y', recursive: false, propagation: 'rshared' },
        { type: 'tmpfs', destination: '/run', size: 1000, mode: 0o755 },
      ],
      etcFiles: { hosts: '/c/hosts', resolvConf: '/c/resolv.conf', hostname: '/c/hostname' },
      init: '/usr/bin/tini-static',
      cgroupsPath: '/wharf/abc',
      sysctls: { 'net.ipv4.ip_forward': '1' },
    },
  );
  assert.deepEqual(spec.process.user, { uid: 33, gid: 33, additionalGids: [50, 29] });
  assert.equal(spec.process.cwd, '/srv');
  assert.equal(spec.process.terminal, true);
  assert.deepEqual(spec.process.consoleSize, { width: 100, height: 30 });
  assert.ok(spec.process.env.includes('TERM=xterm'));
  assert.ok(spec.process.env.includes('HOME=/var/www'));
  assert.deepEqual(spec.process.args, ['/sbin/docker-init', '--', 'httpd']);
  assert.equal(spec.root.readonly, true);
  assert.deepEqual(spec.linux.resources?.memory, { limit: 64 * 1024 * 1024 });
  assert.deepEqual(spec.linux.resources?.cpu, { period: 100000, quota: 150000 });
  assert.deepEqual(spec.linux.resources?.pids, { limit: 100 });
  assert.ok(!spec.process.capabilities?.effective.includes('CAP_NET_RAW'));
  assert.deepEqual(
    spec.linux.namespaces.find((n) => n.type === 'network'),
    { type: 'network', path: '/var/run/netns/wharf-x' },
  );
  assert.equal(spec.linux.cgroupsPath, '/wharf/abc');
  assert.equal(spec.linux.sysctl?.['net.ipv4.ip_forward'], '1');
  const byDest = Object.fromEntries(spec.mounts.map((m) => [m.destination, m]));
  assert.deepEqual(byDest['/data'], {
    destination: '/data',
    type: 'bind',
    source: '/data',
    options: ['rbind', 'ro', 'rprivate'],
  });
  assert.deepEqual(byDest['/y']?.options, ['bind', 'rw', 'rshared']);
  assert.deepEqual(byDest['/run']?.options, ['nosuid', 'nodev', 'noexec', 'size=1000', 'mode=755']);
  assert.equal(byDest['/etc/hosts']?.source, '/c/hosts');
  assert.equal(byDest['/etc/resolv.conf']?.source, '/c/resolv.conf');
  assert.equal(byDest['/etc/hostname']?.source, '/c/hostname');
  assert.deepEqual(byDest['/sbin/docker-init'], {
    destination: '/sbin/docker-init',
    type: 'bind',
    source: '/usr/bin/tini-static',
    options: ['bind', 'ro', 'rprivate'],
  });
  assert.ok(byDest['/dev/shm']?.options?.includes('size=1048576'));
});

test('buildSpec: host network, privileged, mount overrides, bad input', () => {
  const host = buildSpec({ Cmd: ['sh'] }, { ...base, network: { mode: 'host' }, privileged: true });
  assert.deepEqual(
    host.linux.namespaces.map((n) => n.type),
    ['pid', 'ipc', 'uts', 'mount'],
  );
  assert.equal(host.mounts.find((m) => m.destination === '/sys')?.type, 'bind');
  assert.deepEqual(host.linux.maskedPaths, []);
  assert.deepEqual(host.linux.readonlyPaths, []);
  assert.equal(host.process.capabilities?.bounding.length, ALL_CAPABILITIES.length);
  assert.deepEqual(host.linux.resources?.devices, [{ allow: true, access: 'rwm' }]);
  assert.equal(host.linux.sysctl, undefined);
  const shm = buildSpec({ Cmd: ['sh'] }, { ...base, mounts: [{ type: 'tmpfs', destination: '/dev/shm', size: 5 }] });
  assert.equal(shm.mounts.filter((m) => m.destination === '/dev/shm').length, 1);
  assert.equal(shm.mounts.find((m) => m.destination === '/dev/shm')?.source, 'tmpfs');
  const bad: Array<Partial<SpecOptions>> = [
    { workdir: 'relative' },
    { memory: 1024 },
    { memory: 10 * 1024 * 1024, memorySwap: 1024 },
    { cpus: 0 },
    { mounts: [{ type: 'bind', source: 'rel', destination: '/x' }] },
    { mounts: [{ type: 'tmpfs', destination: 'x' }] },
    { capAdd: ['NOPE'] },
    { user: 'ghost', passwd: PASSWD },
  ];
  for (const b of bad) {
    assert.throws(
      () => buildSpec({ Cmd: ['sh'] }, { ...base, ...b }),
      (e: unknown) => is(e, 'INVALID_ARGUMENT'),
      JSON.stringify(b),
    );
  }
});

test('buildExecProcess keeps the container env and user unless overridden', () => {
  const spec = buildSpec({ Cmd: ['sh'], Env: ['A=1'] }, { ...base, passwd: PASSWD, group: GROUP, hostname: 'h' });
  const p = buildExecProcess(spec.process, { args: ['ls', '-l'], env: ['A=2', 'B=3'] });
  assert.deepEqual(p.args, ['ls', '-l']);
  assert.ok(p.env.includes('A=2') && p.env.includes('B=3') && p.env.includes('HOSTNAME=h'));
  assert.deepEqual(p.user, spec.process.user);
  assert.equal(p.terminal, false);
  const w = buildExecProcess(spec.process, {
    args: ['id'],
    user: 'www',
    passwd: PASSWD,
    group: GROUP,
    tty: true,
    workdir: '/tmp',
  });
  assert.deepEqual(w.user, { uid: 33, gid: 33, additionalGids: [50, 29] });
  assert.ok(w.env.includes('HOME=/var/www') && !w.env.includes('HOME=/root'));
  assert.ok(w.env.includes('TERM=xterm'));
  assert.equal(w.cwd, '/tmp');
  assert.equal(w.terminal, true);
  assert.throws(
    () => buildExecProcess(spec.process, { args: [] }),
    (e: unknown) => is(e, 'INVALID_ARGUMENT'),
  );
});
