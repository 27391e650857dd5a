import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkMacAddress,
  labelFileLines,
  parseAttach,
  parseDetachKeys,
  parseExpose,
  parseKeyValues,
  parseLogOpts,
  parseSecurityOptFlags,
  parseSysctls,
  parseTmpfs,
} from '../../../src/cli/commands/run-flags.js';
import {
  checkIpcMode,
  checkLogConfig,
  checkPidMode,
  checkUsernsMode,
  checkUtsMode,
  effectiveSecurityOpt,
  fromHumanSize,
  logPlan,
  parseSecurityOpts,
} from '../../../src/container/run-modes.js';
import { is } from '../../../src/errors/index.js';
import { seccompFromProfile } from '../../../src/runtime/seccomp.js';
import { buildSpec } from '../../../src/runtime/spec.js';

/** The message of what `fn` throws (the docker CLI's or dockerd's, as observed with docker CLI 28 and dockerd 20.10). */
const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return '(no error)';
};

test('--sysctl: the IPC sysctls, net.* and fs.mqueue.* as a map; anything else with the docker CLI message', () => {
  assert.deepEqual(
    parseSysctls(['net.ipv4.ip_forward=1', 'kernel.shm_rmid_forced=1', 'fs.mqueue.msg_max=20', 'net.x=a=b']),
    {
      'net.ipv4.ip_forward': '1',
      'kernel.shm_rmid_forced': '1',
      'fs.mqueue.msg_max': '20',
      'net.x': 'a=b',
    },
  );
  for (const v of ['foo', 'kernel.foo=1', 'net.ipv4.ip_forward', 'vm.swappiness=1'])
    assert.equal(
      message(() => parseSysctls([v])),
      `invalid argument "${v}" for "--sysctl" flag: sysctl '${v}' is not allowed`,
    );
});

test('--tmpfs: destination → options; a relative destination is refused as dockerd does', () => {
  assert.deepEqual(parseTmpfs(['/run:rw,size=64k', '/x']), { '/run': 'rw,size=64k', '/x': '' });
  assert.equal(
    message(() => parseTmpfs(['rel'])),
    "invalid mount path: 'rel' mount path must be absolute",
  );
});

test('--expose: ports and ranges as ExposedPorts keys, tcp by default, the protocol not checked; Go messages', () => {
  assert.deepEqual(parseExpose(['80', '9000-9001/udp', '80/xyz', '53/']), [
    '80/tcp',
    '9000/udp',
    '9001/udp',
    '80/xyz',
    '53/tcp',
  ]);
  assert.equal(
    message(() => parseExpose(['abc'])),
    'invalid range format for --expose: abc, error: strconv.ParseUint: parsing "abc": invalid syntax',
  );
  assert.equal(
    message(() => parseExpose(['70000'])),
    'invalid range format for --expose: 70000, error: strconv.ParseUint: parsing "70000": value out of range',
  );
});

test('--mac-address: the 6-byte forms Go parses, written with colons; else "… is not a valid mac address"', () => {
  assert.equal(checkMacAddress('02:42:AC:11:00:05'), '02:42:ac:11:00:05');
  assert.equal(checkMacAddress('02-42-ac-11-00-05'), '02:42:ac:11:00:05');
  assert.equal(checkMacAddress('0242.ac11.0005'), '02:42:ac:11:00:05');
  for (const bad of ['zz', '02:42:ac:11:00', '02:42-ac:11:00:05'])
    assert.equal(
      message(() => checkMacAddress(bad)),
      `${bad} is not a valid mac address`,
    );
});

test('-a: STDIN/STDOUT/STDERR in any case; without -a stdout and stderr; -i attaches stdin', () => {
  assert.deepEqual(parseAttach([], false), { stdin: false, stdout: true, stderr: true });
  assert.deepEqual(parseAttach([], true), { stdin: true, stdout: true, stderr: true });
  assert.deepEqual(parseAttach(['STDOUT'], false), { stdin: false, stdout: true, stderr: false });
  assert.deepEqual(parseAttach(['stdin', 'stderr'], false), { stdin: true, stdout: false, stderr: true });
  assert.equal(
    message(() => parseAttach(['bogus'], false)),
    'invalid argument "bogus" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR',
  );
});

test('--detach-keys: single characters and ctrl-<c> (moby term.ToBytes); others refused as the daemon does', () => {
  assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [0x10, 0x11]);
  assert.deepEqual([...parseDetachKeys('ctrl-@,ctrl-[,CTRL-Z,a')], [0, 27, 26, 0x61]);
  for (const bad of ['bogus', 'ctrl-', 'ctrl-~', 'ctrl-ab'])
    assert.equal(
      message(() => parseDetachKeys(bad)),
      `Invalid detach keys (${bad}) provided`,
    );
});

test('--log-opt, --annotation, --label-file lines', () => {
  assert.deepEqual(parseLogOpts(['max-size=10k', 'max-file=3']), { 'max-size': '10k', 'max-file': '3' });
  assert.equal(
    message(() => parseLogOpts(['max-size'])),
    'invalid key-value pair for --log-opt: max-size',
  );
  assert.deepEqual(parseKeyValues(['a=b', 'c', 'd=e=f']), { a: 'b', c: '', d: 'e=f' });
  assert.deepEqual(labelFileLines('# c\n\na=1\r\n  b=2\nc\n'), ['a=1', 'b=2', 'c']);
});

test('--security-opt as the docker CLI passes it: a seccomp file becomes its JSON text; bad forms refused', () => {
  const files: Record<string, string> = { '/p.json': '{ "defaultAction": "SCMP_ACT_ALLOW" }' };
  const read = (f: string): string => {
    if (f in files) return files[f]!;
    throw Object.assign(new Error('nope'), { code: 'ENOENT' });
  };
  assert.deepEqual(
    parseSecurityOptFlags(
      ['no-new-privileges', 'seccomp=unconfined', 'apparmor=x', 'seccomp=/p.json', 'label:disable'],
      read,
    ),
    [
      'no-new-privileges',
      'seccomp=unconfined',
      'apparmor=x',
      'seccomp={"defaultAction":"SCMP_ACT_ALLOW"}',
      'label:disable',
    ],
  );
  assert.equal(
    message(() => parseSecurityOptFlags(['foo'], read)),
    'Invalid --security-opt: "foo"',
  );
  assert.equal(
    message(() => parseSecurityOptFlags(['seccomp'], read)),
    'Invalid --security-opt: "seccomp"',
  );
  assert.equal(
    message(() => parseSecurityOptFlags(['seccomp=/nonexist.json'], read)),
    'opening seccomp profile (/nonexist.json) failed: open /nonexist.json: no such file or directory',
  );
});

test("dockerd's checks of the namespace modes, with its messages; --userns private is refused in one line", () => {
  assert.equal(checkIpcMode(''), 'private');
  for (const m of ['private', 'shareable', 'host', 'none', 'container:x']) assert.equal(checkIpcMode(m), m);
  assert.equal(
    message(() => checkIpcMode('bad')),
    'Invalid IPC mode: bad',
  );
  assert.equal(
    message(() => checkIpcMode('container:')),
    `can't join IPC of container : invalid name or ID supplied: ""`,
  );
  for (const m of ['', 'host', 'container:x']) assert.equal(checkPidMode(m), m);
  for (const m of ['bad', 'container:', 'private'])
    assert.equal(
      message(() => checkPidMode(m)),
      '--pid: invalid PID mode',
    );
  assert.equal(checkUtsMode('host'), 'host');
  assert.equal(
    message(() => checkUtsMode('container:x')),
    '--uts: invalid UTS mode',
  );
  for (const m of ['host', 'auto', 'auto:size=1000']) assert.equal(checkUsernsMode(m), m);
  assert.equal(
    message(() => checkUsernsMode('foo')),
    '--userns: invalid USER mode',
  );
  assert.throws(
    () => checkUsernsMode('private'),
    (err) => is(err, 'UNSUPPORTED') && /not a Wharf mode; use --userns=auto/.test((err as Error).message),
  );
});

test("dockerd's --security-opt parsing; label=disable added for host PID/IPC or --privileged", () => {
  assert.deepEqual(parseSecurityOpts(['no-new-privileges', 'seccomp=unconfined', 'label=disable']), {
    noNewPrivileges: true,
    unmaskPaths: false,
    seccomp: 'unconfined',
  });
  assert.equal(parseSecurityOpts(['no-new-privileges=false']).noNewPrivileges, false);
  assert.equal(parseSecurityOpts(['no-new-privileges:true']).noNewPrivileges, true);
  assert.equal(parseSecurityOpts(['systempaths=unconfined']).unmaskPaths, true);
  assert.equal(
    message(() => parseSecurityOpts(['no-new-privileges=maybe'])),
    'invalid --security-opt 2: "no-new-privileges=maybe"',
  );
  assert.deepEqual(effectiveSecurityOpt(['no-new-privileges'], { pid: 'host' }), [
    'no-new-privileges',
    'label=disable',
  ]);
  assert.deepEqual(effectiveSecurityOpt([], { ipc: 'private' }), []);
});

test('--log-driver/--log-opt: drivers, options and values checked with dockerd messages; local keeps its defaults', () => {
  assert.deepEqual(checkLogConfig(undefined, {}), { Type: 'json-file', Config: {} });
  assert.deepEqual(checkLogConfig('json-file', { 'max-size': '10k', 'max-file': '3' }), {
    Type: 'json-file',
    Config: { 'max-size': '10k', 'max-file': '3' },
  });
  assert.match(
    message(() => checkLogConfig('bogus', {})),
    /^error looking up logging plugin bogus: plugin "bogus" not found/,
  );
  assert.equal(
    message(() => checkLogConfig('none', { 'max-size': '1k' })),
    'invalid logging opts for driver none',
  );
  assert.equal(
    message(() => checkLogConfig('json-file', { foo: 'bar' })),
    "unknown log opt 'foo' for json-file log driver",
  );
  assert.equal(
    message(() => checkLogConfig('local', { foo: '1' })),
    "unknown log opt 'foo' for log driver local",
  );
  const fail = (o: Record<string, string>) => message(() => checkLogConfig('json-file', o));
  assert.equal(fail({ 'max-size': 'abc' }), "failed to initialize logging driver: invalid size: 'abc'");
  assert.equal(fail({ 'max-size': '0' }), 'failed to initialize logging driver: max-size must be a positive number');
  assert.equal(fail({ 'max-file': '0' }), 'failed to initialize logging driver: max-file cannot be less than 1');
  assert.equal(
    fail({ compress: 'true' }),
    'failed to initialize logging driver: compress cannot be true when max-file is less than 2 or max-size is not set',
  );
  assert.deepEqual(logPlan(undefined), { enabled: true, maxSize: 0, maxFiles: 1 });
  assert.deepEqual(logPlan({ Type: 'none', Config: {} }).enabled, false);
  assert.deepEqual(logPlan({ Type: 'local', Config: {} }), { enabled: true, maxSize: 20e6, maxFiles: 5 });
  assert.deepEqual(logPlan({ Type: 'json-file', Config: { 'max-size': '1.5m', 'max-file': '2' } }), {
    enabled: true,
    maxSize: 1.5e6,
    maxFiles: 2,
  });
  assert.equal(fromHumanSize('10k'), 10_000);
  assert.equal(fromHumanSize('2MB'), 2_000_000);
});

test('buildSpec: host and joined namespaces, /dev/shm per IPC mode, domainname through the sysctl, security options', () => {
  const base = { rootfs: 'rootfs', network: { mode: 'new' as const }, hostname: 'hh' };
  const img = { Cmd: ['sh'] };
  const types = (s: ReturnType<typeof buildSpec>) =>
    s.linux.namespaces.map((n) => n.type + (n.path ? `=${n.path}` : ''));
  assert.deepEqual(types(buildSpec(img, base)), ['pid', 'ipc', 'uts', 'mount', 'network']);
  const joined = buildSpec(img, {
    ...base,
    pidNamespace: 'host',
    ipcNamespace: { path: '/proc/7/ns/ipc' },
    utsNamespace: 'host',
    shm: { bind: '/c/shm' },
    domainname: 'dom.example',
  });
  assert.deepEqual(types(joined), ['ipc=/proc/7/ns/ipc', 'mount', 'network']);
  assert.equal(joined.hostname, undefined, 'no host name without a UTS namespace of its own');
  assert.equal(joined.linux.sysctl?.['kernel.domainname'], undefined);
  assert.deepEqual(
    joined.mounts.find((m) => m.destination === '/dev/shm'),
    { destination: '/dev/shm', type: 'bind', source: '/c/shm', options: ['rbind', 'rprivate'] },
  );
  const none = buildSpec(img, { ...base, shm: { none: true }, domainname: 'dom.example' });
  assert.equal(
    none.mounts.find((m) => m.destination === '/dev/shm'),
    undefined,
  );
  assert.equal(none.linux.sysctl?.['kernel.domainname'], 'dom.example');
  const sec = buildSpec(img, {
    ...base,
    noNewPrivileges: true,
    unmaskPaths: true,
    seccomp: { defaultAction: 'SCMP_ACT_ALLOW' },
  });
  assert.equal(sec.process.noNewPrivileges, true);
  assert.deepEqual(sec.linux.maskedPaths, []);
  assert.deepEqual(sec.linux.seccomp, { defaultAction: 'SCMP_ACT_ALLOW' });
});

test('seccompFromProfile: a Docker profile as linux.seccomp — the native archMap entry, rules whose includes fit', () => {
  const profile = JSON.stringify({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    archMap: [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    ],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['chmod'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: { caps: ['CAP_FOWNER'] } },
      { name: 'old', action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
    ],
  });
  const s = seccompFromProfile(profile, ['CAP_FOWNER'], 'x64');
  assert.deepEqual(s.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.equal(s.defaultErrnoRet, 1);
  assert.deepEqual(
    s.syscalls?.map((x) => x.names.join(',')),
    ['read,write', 'old'],
    'mount needs CAP_SYS_ADMIN; chmod is excluded with CAP_FOWNER',
  );
  assert.deepEqual(s.syscalls?.[1]?.args, [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }]);
  assert.match(
    message(() => seccompFromProfile('{', [])),
    /^decoding seccomp profile failed/,
  );
});
