import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  DEFAULT_SECCOMP_PROFILE,
  buildSpec,
  seccompFromDockerProfile,
  type OciSeccomp,
  type SpecOptions,
} from '../../../src/runtime/index.js';

const target = (caps: readonly string[] = DEFAULT_CAPABILITIES, arch = 'x64', kernel = '6.1.0-18-amd64') => ({
  caps,
  arch,
  kernel,
});
/** The names the filter lets through without argument conditions. */
const allowed = (s: OciSeccomp): Set<string> =>
  new Set(s.syscalls?.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args).flatMap((r) => r.names));
const rulesFor = (s: OciSeccomp, name: string) => s.syscalls?.filter((r) => r.names.includes(name)) ?? [];

test('the checked-in profile is moby profiles/seccomp/default.json at commit 00f3d189, byte for byte', () => {
  const file = fileURLToPath(new URL('../../../src/runtime/seccomp-default.json', import.meta.url));
  const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
  assert.equal(sha, '691370acc2e46f4b0e02a0f8ccce1b01be0068740c41ceaaccadeca42b0cf89b', 'see docs/security.md');
});

test("default profile, Docker's capabilities on x86-64: an allow-list refusing with EPERM, clone3 ENOSYS", () => {
  const s = seccompFromDockerProfile(DEFAULT_SECCOMP_PROFILE, target());
  assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(s.defaultErrnoRet, 1, 'EPERM');
  assert.deepEqual(s.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  const ok = allowed(s);
  for (const n of ['read', 'execve', 'arch_prctl', 'chroot', 'ptrace', 'process_vm_readv']) assert.ok(ok.has(n), n);
  for (const n of ['mount', 'unshare', 'setns', 'keyctl', 'add_key', 'bpf', 'reboot', 'kexec_load', 'init_module'])
    assert.ok(!ok.has(n), n);
  for (const n of ['open_by_handle_at', 'perf_event_open', 'userfaultfd', 'clock_settime', 'arm_fadvise64_64'])
    assert.ok(!ok.has(n), n);
  assert.deepEqual(rulesFor(s, 'clone'), [
    { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }] },
  ]);
  assert.deepEqual(rulesFor(s, 'clone3'), [{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
  assert.deepEqual(rulesFor(s, 'socket'), [
    { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] },
  ]);
  assert.equal(rulesFor(s, 'personality').length, 5);
});

test('capabilities widen the profile as in moby: SYS_ADMIN, SYS_PTRACE, SYS_TIME, and ALL', () => {
  const admin = seccompFromDockerProfile(DEFAULT_SECCOMP_PROFILE, target([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']));
  for (const n of ['mount', 'unshare', 'setns', 'clone', 'clone3', 'bpf']) assert.ok(allowed(admin).has(n), n);
  assert.ok(!rulesFor(admin, 'clone3').some((r) => r.action === 'SCMP_ACT_ERRNO'), 'no ENOSYS for clone3');
  assert.ok(!rulesFor(admin, 'clone').some((r) => r.args), 'no argument filter on clone');
  assert.ok(!allowed(admin).has('keyctl'), 'keyctl is refused to every container');
  const ptrace = seccompFromDockerProfile(DEFAULT_SECCOMP_PROFILE, target([...DEFAULT_CAPABILITIES, 'CAP_SYS_PTRACE']));
  assert.ok(allowed(ptrace).has('kcmp'));
  const time = seccompFromDockerProfile(DEFAULT_SECCOMP_PROFILE, target([...DEFAULT_CAPABILITIES, 'CAP_SYS_TIME']));
  assert.ok(allowed(time).has('clock_settime') && allowed(time).has('settimeofday'));
  const all = allowed(seccompFromDockerProfile(DEFAULT_SECCOMP_PROFILE, target(ALL_CAPABILITIES)));
  for (const n of ['reboot', 'init_module', 'acct', 'iopl', 'open_by_handle_at', 'syslog']) assert.ok(all.has(n), n);
  const none = allowed(seccompFromDockerProfile(DEFAULT_SECCOMP_PROFILE, target([])));
  assert.ok(!none.has('chroot'), 'chroot needs CAP_SYS_CHROOT');
});

test('minKernel: ptrace without CAP_SYS_PTRACE only from 4.8; other architectures get their own rules', () => {
  const old = seccompFromDockerProfile(
    DEFAULT_SECCOMP_PROFILE,
    target(DEFAULT_CAPABILITIES, 'x64', '4.4.0-210-generic'),
  );
  assert.ok(!allowed(old).has('ptrace'));
  assert.ok(
    allowed(seccompFromDockerProfile(DEFAULT_SECCOMP_PROFILE, target(DEFAULT_CAPABILITIES, 'x64', '4.8'))).has(
      'ptrace',
    ),
  );
  const arm = seccompFromDockerProfile(DEFAULT_SECCOMP_PROFILE, target(DEFAULT_CAPABILITIES, 'arm64'));
  assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.ok(allowed(arm).has('arm_fadvise64_64') && !allowed(arm).has('arch_prctl'));
  const s390 = seccompFromDockerProfile(DEFAULT_SECCOMP_PROFILE, target(DEFAULT_CAPABILITIES, 's390x'));
  assert.equal(rulesFor(s390, 'clone')[0]?.args?.[0]?.index, 1, "s390's clone takes its flags second");
  const excl = seccompFromDockerProfile(
    {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', excludes: { minKernel: '5.0' } }],
    },
    target(),
  );
  assert.deepEqual(excl.syscalls, [], 'excluded from 5.0 on');
  assert.throws(
    () =>
      seccompFromDockerProfile(
        { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'a', names: ['b'], action: 'x' }] },
        target(),
      ),
    /use either 'name' or 'names'/,
  );
});

test('buildSpec: the default profile unless privileged or unconfined; a given profile replaces it', () => {
  const base: SpecOptions = { rootfs: 'rootfs', network: { mode: 'new' } };
  const img = { Cmd: ['sh'] };
  const def = buildSpec(img, base).linux.seccomp;
  assert.equal(def?.defaultAction, 'SCMP_ACT_ERRNO');
  assert.ok(!allowed(def!).has('mount'));
  const admin = buildSpec(img, { ...base, capAdd: ['SYS_ADMIN'] }).linux.seccomp;
  assert.ok(allowed(admin!).has('mount'), 'the filter follows --cap-add');
  assert.equal(buildSpec(img, { ...base, privileged: true }).linux.seccomp, undefined);
  assert.equal(buildSpec(img, { ...base, seccomp: 'unconfined' }).linux.seccomp, undefined);
  assert.deepEqual(buildSpec(img, { ...base, seccomp: { defaultAction: 'SCMP_ACT_LOG' } }).linux.seccomp, {
    defaultAction: 'SCMP_ACT_LOG',
  });
  // Each spec its own copy of the cached filter.
  def!.syscalls!.length = 0;
  assert.ok(buildSpec(img, base).linux.seccomp!.syscalls!.length > 10);
});
