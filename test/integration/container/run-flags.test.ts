/**
 * `run`/`create` flags of issue 12 (namespaces, security, DNS, stdio, cidfile, labels): their effect seen from inside a
 * container under real runc, and inspect and the error cases side by side with a real dockerd.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ok, runErrorLine } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { dockerdAvailable, startDockerd } from '../../helpers/dockerd.js';
import { withBusybox, type Fixture } from './fixture.js';

let f: Fixture;
let dir: string;
before(async () => {
  f = await withBusybox('wharf-ctr-runflags-', async (rootfs) => {
    await fsp.appendFile(path.join(rootfs, 'etc/group'), 'staff:x:50:\n');
  });
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-runflags-'));
});
after(async () => {
  await f?.cleanup();
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

const inside = async (flags: string[], script: string): Promise<string> =>
  ok(await f.cli(['run', '--rm', '--network', 'none', ...flags, 'busybox', 'sh', '-c', script]), flags.join(' '))
    .stdout;

test('--hostname and --domainname: hostname, /etc/hostname, the kernel domain name, /etc/hosts', async () => {
  const out = await inside(
    ['--hostname', 'hh', '--domainname', 'dom.example'],
    'hostname; cat /etc/hostname; cat /proc/sys/kernel/domainname; grep hh /etc/hosts || true',
  );
  const [h, file, domain] = out.split('\n');
  assert.deepEqual([h, file, domain], ['hh', 'hh', 'dom.example']);
});

test('--uts host shares the host name; --hostname with it is refused as dockerd does', async () => {
  assert.equal((await inside(['--uts', 'host'], 'hostname')).trim(), os.hostname());
  const r = await f.cli(['run', '--rm', '--uts', 'host', '--hostname', 'x', 'busybox', 'true']);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /conflicting options: hostname and the UTS mode/);
});

test('--pid host sees the host processes; --pid container:X joins X (its init is PID 1)', async () => {
  const own = await fsp.readlink('/proc/self/ns/pid');
  assert.equal((await inside(['--pid', 'host'], 'readlink /proc/self/ns/pid')).trim(), own);
  ok(await f.cli(['run', '-d', '--name', 'pidme', '--network', 'none', 'busybox', 'sleep', '300']), 'run -d');
  const cmdline = await inside(['--pid', 'container:pidme'], 'tr "\\0" " " </proc/1/cmdline');
  assert.equal(cmdline.trim(), 'sleep 300');
  ok(await f.cli(['rm', '-f', 'pidme']), 'rm');
  const gone = await f.cli(['run', '--rm', '--pid', 'container:pidme', 'busybox', 'true']);
  assert.equal(gone.code, 125);
  assert.match(gone.stderr, /No such container: pidme/);
});

test('--ipc: none has no /dev/shm, host shares the namespace, container:X shares a shareable /dev/shm', async () => {
  assert.equal((await inside(['--ipc', 'none'], 'grep -c " /dev/shm " /proc/mounts || true')).trim(), '0');
  const hostIpc = await fsp.readlink('/proc/self/ns/ipc');
  assert.equal((await inside(['--ipc', 'host'], 'readlink /proc/self/ns/ipc')).trim(), hostIpc);
  ok(
    await f.cli([
      'run',
      '-d',
      '--name',
      'donor',
      '--network',
      'none',
      '--ipc',
      'shareable',
      'busybox',
      'sh',
      '-c',
      'echo secret >/dev/shm/x; readlink /proc/self/ns/ipc >/dev/shm/ns; sleep 300',
    ]),
    'donor',
  );
  const [secret, ns, donorNs] = (
    await inside(
      ['--ipc', 'container:donor'],
      'until [ -e /dev/shm/ns ]; do sleep 0.1; done; cat /dev/shm/x; readlink /proc/self/ns/ipc; cat /dev/shm/ns',
    )
  ).split('\n');
  assert.equal(secret, 'secret');
  assert.equal(ns, donorNs, 'the same IPC namespace');
  ok(await f.cli(['run', '-d', '--name', 'private', '--network', 'none', 'busybox', 'sleep', '300']), 'private');
  const refused = await f.cli(['run', '--rm', '--ipc', 'container:private', 'busybox', 'true']);
  assert.equal(refused.code, 125);
  assert.match(refused.stderr, /non-shareable IPC \(hint: use IpcMode:shareable for the donor container\)/);
  const id = ok(await f.cli(['inspect', '-f', '{{.Id}}', 'donor']), 'id').stdout.trim();
  ok(await f.cli(['rm', '-f', 'donor', 'private']), 'rm');
  const mounts = await fsp.readFile('/proc/mounts', 'utf8');
  assert.ok(!mounts.includes(id), "the donor's /dev/shm is unmounted with it");
});

test('--sysctl values, --tmpfs mounts, --group-add groups, --security-opt no-new-privileges, inside', async () => {
  const out = await inside(
    [
      '--sysctl',
      'net.ipv4.ip_forward=1',
      '--sysctl',
      'kernel.shm_rmid_forced=1',
      '--tmpfs',
      '/run:rw,size=64k',
      '--tmpfs',
      '/x',
      '--group-add',
      '50',
      '--group-add',
      'staff',
      '--security-opt',
      'no-new-privileges',
      '-u',
      'nobody',
    ],
    'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced; grep -E " /(run|x) " /proc/mounts; id -G; grep NoNewPrivs /proc/self/status',
  );
  const lines = out.trim().split('\n');
  assert.deepEqual(lines.slice(0, 2), ['1', '1']);
  assert.match(out, /^tmpfs \/run tmpfs rw,nosuid,nodev,noexec,relatime,size=64k 0 0$/m);
  assert.match(out, /^tmpfs \/x tmpfs rw,nosuid,nodev,noexec,relatime 0 0$/m);
  assert.ok(
    lines.some((l) => l.split(' ').includes('50')),
    out,
  );
  assert.match(out, /^NoNewPrivs:\s+1$/m);
  const hostNet = await f.cli([
    'run',
    '--rm',
    '--network',
    'host',
    '--sysctl',
    'net.ipv4.ip_forward=1',
    'busybox',
    'true',
  ]);
  assert.equal(hostNet.code, 125, 'runc refuses a net sysctl in the host network namespace, as under dockerd');
  assert.match(hostNet.stderr, /not allowed in host network namespace/);
});

test('--security-opt seccomp=profile.json applies the profile; systempaths=unconfined unmasks /proc', async () => {
  const profile = path.join(dir, 'deny-mkdir.json');
  await fsp.writeFile(
    profile,
    JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    }),
  );
  const r = await f.cli([
    'run',
    '--rm',
    '--network',
    'none',
    '--security-opt',
    `seccomp=${profile}`,
    'busybox',
    'sh',
    '-c',
    'mkdir /tmp/d && echo made || echo refused',
  ]);
  assert.equal(r.stdout.trim(), 'refused', r.stderr);
  assert.equal((await inside(['--security-opt', 'seccomp=unconfined'], 'mkdir /tmp/d && echo made')).trim(), 'made');
  assert.equal((await inside([], 'grep -c " /proc/keys " /proc/mounts || true')).trim(), '1', 'masked by default');
  assert.equal(
    (await inside(['--security-opt', 'systempaths=unconfined'], 'grep -c " /proc/keys " /proc/mounts || true')).trim(),
    '0',
  );
});

test('--dns-search/--dns-option in resolv.conf; --mac-address on the bridge interface and in inspect', async () => {
  const conf = await inside(
    ['--dns', '192.0.2.53', '--dns-search', 'example.com', '--dns-option', 'ndots:2'],
    'cat /etc/resolv.conf',
  );
  assert.match(conf, /^search example\.com$/m);
  assert.match(conf, /^nameserver 192\.0\.2\.53$/m);
  assert.match(conf, /^options ndots:2$/m);
  ok(
    await f.cli(['run', '-d', '--name', 'mac', '--mac-address', '02:42:ac:11:00:99', 'busybox', 'sleep', '300']),
    'mac',
  );
  assert.equal(
    ok(await f.cli(['exec', 'mac', 'cat', '/sys/class/net/eth0/address']), 'addr').stdout.trim(),
    '02:42:ac:11:00:99',
  );
  assert.equal(
    ok(
      await f.cli(['inspect', '-f', '{{.Config.MacAddress}} {{.NetworkSettings.MacAddress}}', 'mac']),
      'inspect',
    ).stdout.trim(),
    '02:42:ac:11:00:99 02:42:ac:11:00:99',
  );
  ok(await f.cli(['rm', '-f', 'mac']), 'rm');
});

test('--stop-timeout is what stop waits without -t; --userns private is refused in one line; --annotation reaches the spec', async () => {
  ok(
    await f.cli([
      'run',
      '-d',
      '--name',
      'st',
      '--network',
      'none',
      '--stop-timeout',
      '0',
      '--annotation',
      'org.example/a=b',
      'busybox',
      'sh',
      '-c',
      'trap "" TERM; sleep 300 & wait',
    ]),
    'run',
  );
  const id = ok(await f.cli(['inspect', '-f', '{{.Id}}', 'st']), 'id').stdout.trim();
  const spec = JSON.parse(await fsp.readFile(path.join(f.root, 'containers', id, 'config.json'), 'utf8'));
  assert.equal(spec.annotations['org.example/a'], 'b');
  assert.equal(
    ok(await f.cli(['inspect', '-f', '{{json .HostConfig.Annotations}}', 'st']), 'ann').stdout.trim(),
    '{"org.example/a":"b"}',
  );
  ok(await f.cli(['stop', 'st']), 'stop');
  assert.equal(
    ok(await f.cli(['inspect', '-f', '{{.State.ExitCode}}', 'st']), 'code').stdout.trim(),
    '137',
    'killed at once',
  );
  ok(await f.cli(['rm', 'st']), 'rm');
  const u = await f.cli(['run', '--rm', '--userns', 'private', 'busybox', 'true']);
  assert.equal(u.code, 125);
  assert.match(runErrorLine(u.stderr), /--userns private: not a Wharf mode; use --userns=auto/);
  ok(await f.cli(['run', '--rm', '--network', 'none', '--userns', 'host', 'busybox', 'true']), '--userns host');
});

test('--cidfile gets the ID and is refused when it exists; --label-file; -a stdout; -a with -d', async () => {
  const cid = path.join(dir, 'cid');
  const id = ok(await f.cli(['create', '--cidfile', cid, 'busybox', 'true']), 'create').stdout.trim();
  assert.equal(await fsp.readFile(cid, 'utf8'), id);
  const again = await f.cli(['create', '--cidfile', cid, 'busybox', 'true']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /container ID file found, make sure the other container isn't running or delete /);
  assert.equal((await f.cli(['run', '--cidfile', cid, 'busybox', 'true'])).code, 125);
  ok(await f.cli(['rm', id]), 'rm');

  const labels = path.join(dir, 'labels');
  await fsp.writeFile(labels, '# comment\na=1\n\nb=2\n');
  ok(await f.cli(['create', '--name', 'lbl', '--label-file', labels, '-l', 'b=3', 'busybox']), 'create');
  assert.equal(
    ok(await f.cli(['inspect', '-f', '{{json .Config.Labels}}', 'lbl']), 'labels').stdout.trim(),
    '{"a":"1","b":"3"}',
  );
  ok(await f.cli(['rm', 'lbl']), 'rm');

  const only = ok(
    await f.cli(['run', '--rm', '--network', 'none', '-a', 'stdout', 'busybox', 'sh', '-c', 'echo out; echo err >&2']),
    '-a stdout',
  );
  assert.equal(only.stdout, 'out\n');
  assert.equal(only.stderr, '');
  const both = await f.cli(['run', '-d', '-a', 'stdout', 'busybox', 'true']);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /conflicting options: cannot specify both --attach and --detach/);
});

/** The fields these flags set, as inspect shows them. */
const FIELDS = [
  '{{json .HostConfig.IpcMode}}',
  '{{json .HostConfig.PidMode}}',
  '{{json .HostConfig.UTSMode}}',
  '{{json .HostConfig.UsernsMode}}',
  '{{json .HostConfig.Sysctls}}',
  '{{json .HostConfig.Tmpfs}}',
  '{{json .HostConfig.GroupAdd}}',
  '{{json .HostConfig.SecurityOpt}}',
  '{{json .HostConfig.LogConfig}}',
  '{{json .Config.Domainname}}',
  '{{json .Config.StopTimeout}}',
  '{{json .Config.ExposedPorts}}',
  '{{json .Config.AttachStdin}} {{json .Config.AttachStdout}} {{json .Config.AttachStderr}}',
  '{{json .Config.Labels}}',
].join('\n');

test('inspect and the refusals match a real dockerd', { skip: !dockerdAvailable() && 'no dockerd here' }, async () => {
  const d = await startDockerd();
  try {
    const tar = await makeBusyboxTar(dir);
    assert.equal((await d.docker(['import', '-c', 'CMD ["sh"]', tar, 'busybox'])).code, 0);
    const labels = path.join(dir, 'cmp-labels');
    await fsp.writeFile(labels, 'a=1\n');
    const flags = [
      '--network',
      'none',
      '--ipc',
      'shareable',
      '--pid',
      'host',
      '--userns',
      'host',
      '--sysctl',
      'net.ipv4.ip_forward=1',
      '--tmpfs',
      '/run:rw,size=64k',
      '--tmpfs',
      '/x',
      '--group-add',
      '50',
      '--stop-timeout',
      '7',
      '--dns-search',
      'example.com',
      '--dns-option',
      'ndots:2',
      '--domainname',
      'dom.example',
      '--hostname',
      'hh',
      '--expose',
      '80',
      '--expose',
      '9000-9001/udp',
      '--security-opt',
      'no-new-privileges',
      '--security-opt',
      'seccomp=unconfined',
      '--log-opt',
      'max-size=10k',
      '--log-opt',
      'max-file=3',
      '-a',
      'stdout',
      '--label-file',
      labels,
    ];
    for (const [name, args] of [
      ['all', flags],
      ['plain', []],
      ['detached-i', ['-i']],
    ] as const) {
      assert.equal((await d.docker(['create', '--name', name, ...args, 'busybox'])).code, 0, name);
      ok(await f.cli(['create', '--name', name, ...args, 'busybox']), name);
      const want = await d.docker(['inspect', '-f', FIELDS, name]);
      assert.equal(ok(await f.cli(['inspect', '-f', FIELDS, name]), 'inspect').stdout, want.stdout, name);
      // Apart: the docker CLI's typed struct has no DnsSearch field, so a template naming it runs on the raw JSON.
      const dns = '{{json .HostConfig.DnsSearch}} {{json .HostConfig.DnsOptions}}';
      assert.equal(
        ok(await f.cli(['inspect', '-f', dns, name]), 'dns').stdout,
        (await d.docker(['inspect', '-f', dns, name])).stdout,
      );
      ok(await f.cli(['rm', name]), 'rm');
    }

    const refusals: string[][] = [
      ['--pid', 'bad'],
      ['--uts', 'bad'],
      ['--ipc', 'bad'],
      ['--ipc', 'container:nope'],
      ['--sysctl', 'foo'],
      ['--tmpfs', 'rel'],
      ['--stop-timeout', 'x'],
      ['--mac-address', 'zz'],
      ['--expose', 'abc'],
      ['--security-opt', 'foo'],
      ['--security-opt', 'no-new-privileges=maybe'],
      ['--security-opt', 'seccomp=/nonexist.json'],
      ['--userns', 'foo'],
      ['--log-driver', 'none', '--log-opt', 'max-size=1k'],
      ['--log-opt', 'max-size=abc'],
      ['--log-opt', 'max-file=0'],
      ['--log-opt', 'foo=bar'],
      ['--log-opt', 'compress=true'],
      ['-a', 'bogus'],
      ['--label-file', '/nonexist'],
      ['--uts', 'host', '--hostname', 'x'],
      ['-d', '-a', 'stdout'],
    ];
    for (const args of refusals) {
      const want = await d.docker(['run', '--rm', '--network', 'none', ...args, 'busybox', 'true']);
      const got = await f.cli(['run', '--rm', '--network', 'none', ...args, 'busybox', 'true']);
      assert.equal(got.code, want.code, `${args.join(' ')}: ${got.stderr}`);
      // Docker's own words, without its prefixes and the shim's wrapping.
      const core = want.stderr
        .split('\n')[0]!
        .replace(/^docker: /, '')
        .replace(/^Error response from daemon: /, '')
        .replace(/\.$/, '');
      assert.ok(got.stderr.includes(core), `${args.join(' ')}: want "${core}", got "${got.stderr.trim()}"`);
    }
  } finally {
    await d.stop();
  }
});
