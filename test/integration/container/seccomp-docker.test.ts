/**
 * Confinement by default (issue 17), side by side with a real dockerd: Docker's default seccomp profile (a static probe,
 * test/fixtures/seccomp/probe.c, makes the calls it refuses and a few it allows), how --cap-add widens it and
 * `seccomp=unconfined` drops it, the same for `exec` and build RUN steps; the capability sets, NoNewPrivs and Seccomp
 * of /proc/self/status; the masked and read-only /proc and /sys paths.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ok, runErrorLine } from '../../helpers/cli.js';
import { dockerdAvailable, startDockerd, type Dockerd } from '../../helpers/dockerd.js';
import { withBusybox, type Fixture } from './fixture.js';

const PROBE_SOURCE = fileURLToPath(new URL('../../fixtures/seccomp/probe.c', import.meta.url));

let f: Fixture;
let d: Dockerd;

before(async () => {
  if (!dockerdAvailable()) throw new Error('dockerd is not installed');
  f = await withBusybox('wharf-seccomp-', async (rootfs) => {
    // Built here, static, so it runs on busybox, with the C compiler the native build (the monitor) needs anyway.
    const [cc, ...ccArgs] = (process.env.CC || 'cc').trim().split(/\s+/);
    execFileSync(cc!, [...ccArgs, '-static', '-O1', '-o', path.join(rootfs, 'bin/probe'), PROBE_SOURCE]);
  });
  const archive = path.join(f.root, 'busybox-image.tar');
  ok(await f.cli(['save', '-o', archive, 'busybox']), 'save');
  d = await startDockerd();
  const loaded = await d.docker(['load', '-i', archive]);
  assert.equal(loaded.code, 0, loaded.stderr);
  await fsp.rm(archive);
});

after(async () => {
  await d?.stop();
  await f?.cleanup();
});

type Engine = (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;
const wharf: Engine = (args) => f.cli(args);
const docker: Engine = (args) => d.docker(args);

async function run(engine: Engine, flags: string[], cmd: string[]): Promise<string> {
  const r = await engine(['run', '--rm', '--network', 'none', ...flags, 'busybox', ...cmd]);
  assert.equal(r.code, 0, `${flags.join(' ')} ${cmd.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The probe's "name=result" lines as an object. */
const probe = async (engine: Engine, flags: string[]): Promise<Record<string, string>> =>
  Object.fromEntries(
    (await run(engine, flags, ['probe']))
      .trim()
      .split('\n')
      .map((l) => l.split('=') as [string, string]),
  );

test('default profile: the calls Docker refuses fail with EPERM (clone3 ENOSYS) as root, the same under dockerd', async () => {
  const ours = await probe(wharf, []);
  assert.deepEqual(ours, {
    keyctl: 'EPERM',
    add_key: 'EPERM',
    unshare_user: 'EPERM',
    unshare_mount: 'EPERM',
    clone3: 'ENOSYS',
    personality_addr_no_randomize: 'EPERM',
    personality_query: '0',
    userfaultfd: 'EPERM',
    ptrace_traceme: '0',
    getpid: '0',
  });
  assert.deepEqual(ours, await probe(docker, []));
});

test('--cap-add widens the profile, seccomp=unconfined drops it, a profile file replaces it: as dockerd', async () => {
  const cases: string[][] = [
    ['--cap-add', 'SYS_ADMIN'],
    ['--cap-add', 'SYS_PTRACE'],
    ['--cap-drop', 'ALL'],
    ['--security-opt', 'seccomp=unconfined'],
  ];
  for (const flags of cases) assert.deepEqual(await probe(wharf, flags), await probe(docker, flags), flags.join(' '));
  const admin = await probe(wharf, ['--cap-add', 'SYS_ADMIN']);
  assert.equal(admin.unshare_user, '0', 'CAP_SYS_ADMIN allows unshare, as in moby');
  assert.equal(admin.clone3, 'EINVAL', 'and clone3 reaches the kernel');
  assert.equal(admin.keyctl, 'EPERM', 'keyctl stays refused');
  const open = await probe(wharf, ['--security-opt', 'seccomp=unconfined']);
  assert.equal(open.keyctl, '0');
  assert.equal(open.unshare_user, '0');
  const profile = path.join(f.root, 'allow-all.json');
  await fsp.writeFile(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW' }));
  assert.equal((await probe(wharf, ['--security-opt', `seccomp=${profile}`])).keyctl, '0', 'the file replaces it');
});

test('--privileged runs without a filter (dockerd cannot run --privileged here)', async () => {
  const status = await run(wharf, ['--privileged'], ['grep', '-E', '^(Seccomp|CapEff):', '/proc/self/status']);
  assert.match(status, /^Seccomp:\s+0$/m);
  assert.equal((await probe(wharf, ['--privileged'])).keyctl, '0');
});

test('--cap-add ALL keeps the filter with every capability rule; label= and apparmor= refused in one line', async () => {
  // dockerd's runc cannot give every capability on this host (it lacks CAP_SYS_RESOURCE), so Wharf alone.
  const all = await run(wharf, ['--cap-add', 'ALL'], ['grep', '-E', '^(CapEff|Seccomp):', '/proc/self/status']);
  assert.match(all, /^Seccomp:\s+2$/m, 'capabilities do not turn the filter off, as in moby');
  assert.doesNotMatch(all, /^CapEff:\s+00000000a80425fb$/m);
  const probed = await probe(wharf, ['--cap-add', 'ALL']);
  assert.equal(probed.unshare_user, '0', 'the CAP_SYS_ADMIN rules are in');
  assert.equal(probed.keyctl, 'EPERM', 'what no capability allows stays refused');
  const appArmor = await fsp.readFile('/sys/module/apparmor/parameters/enabled', 'utf8').catch(() => 'N');
  const refusals: Array<[string, RegExp]> = [['label=type:container_t', /Wharf applies no SELinux labels/]];
  // Only where the kernel has no AppArmor (this machine); elsewhere the profile is applied.
  if (!appArmor.startsWith('Y')) refusals.push(['apparmor=docker-default', /AppArmor is not enabled in this kernel/]);
  for (const [opt, why] of refusals) {
    const r = await wharf(['run', '--rm', '--network', 'none', '--security-opt', opt, 'busybox', 'true']);
    assert.equal(r.code, 125, opt);
    assert.match(runErrorLine(r.stderr), why);
  }
  for (const opt of ['label=disable', 'apparmor=unconfined']) await run(wharf, ['--security-opt', opt], ['true']);
});

test('exec runs under the container filter, as docker exec', async () => {
  for (const [engine, name] of [
    [wharf, 'w'],
    [docker, 'd'],
  ] as const) {
    ok(await engine(['run', '-d', '--name', `sec-${name}`, '--network', 'none', 'busybox', 'sleep', '300']), 'run -d');
  }
  const ours = await wharf(['exec', 'sec-w', 'probe']);
  const theirs = await docker(['exec', 'sec-d', 'probe']);
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(ours.stdout, theirs.stdout);
  assert.match(ours.stdout, /^keyctl=EPERM$/m);
  assert.match((await wharf(['exec', 'sec-w', 'grep', 'Seccomp:', '/proc/self/status'])).stdout, /Seccomp:\s+2/);
  // exec --privileged gets every capability the host has and keeps the container's filter (moby does not change the
  // seccomp profile of a privileged exec). dockerd's runc fails it on this host, which lacks CAP_SYS_RESOURCE.
  const privileged = await wharf([
    'exec',
    '--privileged',
    'sec-w',
    'grep',
    '-E',
    '^(CapEff|Seccomp):',
    '/proc/self/status',
  ]);
  assert.equal(privileged.code, 0, privileged.stderr);
  assert.match(privileged.stdout, /^Seccomp:\s+2$/m);
  assert.doesNotMatch(privileged.stdout, /^CapEff:\s+00000000a80425fb$/m, 'more than the default capabilities');
  ok(await wharf(['rm', '-f', 'sec-w']), 'rm');
  ok(await docker(['rm', '-f', 'sec-d']), 'rm');
});

test('build RUN steps run under the default profile', async () => {
  const ctx = path.join(f.root, 'ctx');
  await fsp.mkdir(ctx);
  await fsp.writeFile(
    path.join(ctx, 'Dockerfile'),
    'FROM busybox\nRUN grep -E "^(Seccomp|CapEff):" /proc/self/status > /status && probe > /probe\n',
  );
  ok(await f.cli(['build', '-q', '-t', 'secbuild', ctx]), 'build');
  const out = ok(
    await f.cli(['run', '--rm', '--network', 'none', 'secbuild', 'cat', '/status', '/probe']),
    'run',
  ).stdout;
  assert.match(out, /^Seccomp:\s+2$/m);
  assert.match(out, /^keyctl=EPERM$/m);
  assert.match(out, /^clone3=ENOSYS$/m);
});

const STATUS_FIELDS = /^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):/;
const status = async (engine: Engine, flags: string[], user?: string): Promise<string> =>
  (await run(engine, [...flags, ...(user ? ['-u', user] : [])], ['cat', '/proc/self/status']))
    .split('\n')
    .filter((l) => STATUS_FIELDS.test(l))
    .join('\n');

test('/proc/self/status: capability sets, NoNewPrivs and Seccomp as under dockerd', async () => {
  const ours = await status(wharf, []);
  assert.match(ours, /^CapEff:\s+00000000a80425fb$/m, "Docker's default capability set");
  assert.match(ours, /^NoNewPrivs:\s+0$/m);
  assert.match(ours, /^Seccomp:\s+2$/m);
  assert.equal(ours, await status(docker, []));
  const cases: Array<[string[], string?]> = [
    [['--security-opt', 'no-new-privileges']],
    [['--security-opt', 'no-new-privileges=true'], 'nobody'],
    [['--security-opt', 'no-new-privileges=false']],
    [['--cap-add', 'NET_ADMIN', '--cap-drop', 'CHOWN']],
    [['--cap-drop', 'ALL']],
    [[], 'nobody'],
  ];
  for (const [flags, user] of cases)
    assert.equal(await status(wharf, flags, user), await status(docker, flags, user), `${flags.join(' ')} ${user}`);
  assert.match(await status(wharf, ['--security-opt', 'no-new-privileges']), /^NoNewPrivs:\s+1$/m);
  assert.match(await status(wharf, ['--security-opt', 'no-new-privileges=true'], 'nobody'), /^NoNewPrivs:\s+1$/m);
  assert.match(await status(wharf, ['--security-opt', 'no-new-privileges=false']), /^NoNewPrivs:\s+0$/m);
});

/** Docker's masked paths (moby oci/defaults.go) and read-only ones; /sys/devices/virtual/powercap is Docker 25+'s. */
const MASKED = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
];
const READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Per path: how it is mounted over (options and file system type from mountinfo), or "-" when it is not. */
const SHOW_MOUNTS = [...MASKED, ...READONLY, '/proc', '/sys']
  .map(
    (p) =>
      `m=$(awk -v p=${p} '$5 == p { for (i = 7; $i != "-"; i++); print $6, $(i+1) }' /proc/self/mountinfo | tail -1); echo "${p} \${m:--}"`,
  )
  .join('; ');

test('masked and read-only /proc and /sys paths as under dockerd; writes and reads through them fail', async () => {
  const ours = await run(wharf, [], ['sh', '-c', SHOW_MOUNTS]);
  assert.equal(ours, await run(docker, [], ['sh', '-c', SHOW_MOUNTS]));
  // Paths this kernel has (no /proc/kcore, /proc/sysrq-trigger here: nothing to mount over, for either engine).
  for (const p of ['/proc/sys', '/proc/irq', '/proc/bus', '/proc/fs'])
    assert.match(ours, new RegExp(`^${p} ro,`, 'm'), `${p} read-only`);
  assert.match(ours, /^\/proc\/keys rw,nosuid tmpfs$/m, '/proc/keys masked');
  // Docker 28 also masks /proc/interrupts (moby#49560, a thermal side channel); the dockerd 20.10 here predates it.
  const interrupts = await run(
    wharf,
    [],
    ['sh', '-c', 'wc -c </proc/interrupts; grep -c " /proc/interrupts " /proc/mounts'],
  );
  assert.deepEqual(interrupts.trim().split('\n'), ['0', '1']);
  const attempts =
    'cat /proc/timer_list | wc -c; cat /proc/keys | wc -l; ls /sys/firmware | wc -l; ' +
    '(echo h >/proc/sysrq-trigger) 2>/dev/null && echo sysrq-written || echo sysrq-refused; ' +
    '(echo 1 >/proc/sys/kernel/panic) 2>/dev/null && echo sys-written || echo sys-refused';
  const tried = await run(wharf, [], ['sh', '-c', attempts]);
  assert.deepEqual(tried.trim().split('\n'), ['0', '0', '0', 'sysrq-refused', 'sys-refused']);
  assert.equal(tried, await run(docker, [], ['sh', '-c', attempts]));
  // systempaths=unconfined lifts the masks, as in Docker.
  const open = await run(wharf, ['--security-opt', 'systempaths=unconfined'], ['sh', '-c', SHOW_MOUNTS]);
  assert.match(open, /^\/proc\/keys -$/m);
});

/** Files named config.json under `dir` (dockerd's exec root holds one bundle per running container). */
async function findConfigs(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const e of await fsp.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name === 'config.json') found.push(path.join(e.parentPath, e.name));
  }
  return found;
}

/** What Docker 28 masks beyond the dockerd 20.10 run here (moby#49560 and the powercap mask of Docker 25). */
const DOCKER28_MASKS =
  /^(\/proc\/interrupts|\/sys\/devices\/virtual\/powercap|\/sys\/devices\/system\/cpu\/cpu\d+\/thermal_throttle)$/;

test("the OCI spec's masked and read-only paths, capabilities, devices and device rules are dockerd's for the same run", async () => {
  const w = ok(await wharf(['run', '-d', '--network', 'none', 'busybox', 'sleep', '300']), 'run -d').stdout.trim();
  const dr = await docker(['run', '-d', '--network', 'none', 'busybox', 'sleep', '300']);
  assert.equal(dr.code, 0, dr.stderr);
  const did = dr.stdout.trim();
  try {
    // dockerd's exec root (test/helpers/dockerd.ts puts it beside the socket) holds the bundle runc was given.
    const bundles = (await findConfigs(path.join(path.dirname(d.socket), 'exec'))).filter((p) => p.includes(did));
    assert.equal(bundles.length, 1, `dockerd's bundle config.json for ${did}`);
    const theirs = JSON.parse(await fsp.readFile(bundles[0]!, 'utf8'));
    const ours = JSON.parse(await fsp.readFile(path.join(f.root, 'containers', w, 'config.json'), 'utf8'));
    const ourMasked: string[] = ours.linux.maskedPaths;
    assert.deepEqual(
      ourMasked.filter((p) => !DOCKER28_MASKS.test(p)),
      theirs.linux.maskedPaths,
      'masked paths: dockerd 20.10 here, plus what Docker 28 adds',
    );
    for (const p of ['/proc/interrupts', '/sys/devices/virtual/powercap']) assert.ok(ourMasked.includes(p), p);
    assert.deepEqual(ours.linux.readonlyPaths, theirs.linux.readonlyPaths, 'read-only paths');
    for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'])
      assert.deepEqual(
        [...(ours.process.capabilities[set] ?? [])].sort(),
        [...(theirs.process.capabilities[set] ?? [])].sort(),
        `capabilities: ${set}`,
      );
    assert.deepEqual(ours.linux.devices ?? [], theirs.linux.devices ?? [], 'devices');
    assert.deepEqual(ours.linux.resources.devices, theirs.linux.resources.devices, 'device cgroup rules');
    // The kernel file systems every container gets: type, source and options, as dockerd writes them.
    type Mount = { destination: string; type?: string; source?: string; options?: string[] };
    const KERNEL_MOUNTS = ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm'];
    const kernelMounts = (spec: { mounts: Mount[] }) =>
      KERNEL_MOUNTS.map((dest) => {
        const m = spec.mounts.find((x) => x.destination === dest);
        return m && { destination: dest, type: m.type, source: m.source, options: [...(m.options ?? [])].sort() };
      });
    assert.deepEqual(kernelMounts(ours), kernelMounts(theirs), 'kernel mounts');
    assert.equal(ours.process.noNewPrivileges ?? false, theirs.process.noNewPrivileges ?? false, 'noNewPrivileges');
    assert.equal(ours.linux.seccomp.defaultAction, theirs.linux.seccomp.defaultAction, 'seccomp: an allow-list');
    assert.deepEqual(ours.linux.seccomp.architectures, theirs.linux.seccomp.architectures, 'seccomp architectures');
  } finally {
    ok(await wharf(['rm', '-f', w]), 'rm');
    ok(await docker(['rm', '-f', did]), 'rm');
  }
});
