/**
 * Attack battery, part 1 (issue 17): attempts from inside a default container to reach the kernel or the host, each of
 * which must fail, run the same way under a private dockerd beside it. Busybox applets where it has one, the static
 * attack probe (attack-probe.c) for the system calls it lacks.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ok } from '../helpers/cli.js';
import { probeResult, runIn, scriptResult, startBattery, type Battery, type Engine, type Result } from './battery.js';

let b: Battery;

before(async () => {
  b = await startBattery('wharf-sec-inside-');
});

after(async () => {
  await b?.stop();
});

/** Runs the same attempt under both engines and records it. */
async function attack(name: string, attempt: (engine: Engine, which: 'wharf' | 'docker') => Promise<Result>) {
  const ours = await attempt(b.wharf, 'wharf');
  const docker = await attempt(b.docker, 'docker');
  b.record(name, ours, docker);
}

const probe = (name: string, arg?: string) => async (engine: Engine) =>
  probeResult(await runIn(engine, `attack-probe ${name} ${arg ?? ''}`), name);

const script =
  (text: string, flags: string[] = []) =>
  async (engine: Engine) =>
    scriptResult(await runIn(engine, text, flags));

test('mount a file system', async () => {
  await attack('mount tmpfs (busybox mount)', script('mount -t tmpfs none /mnt && echo ESCAPED'));
  await attack('mount(2) tmpfs', probe('mount'));
});

test('unshare -U, then use the capabilities the new user namespace gives', async () => {
  await attack(
    'unshare -Urm then mount',
    script("unshare -Urm sh -c 'grep CapEff /proc/self/status; mount -t tmpfs none /mnt && echo ESCAPED'"),
  );
  await attack('unshare(CLONE_NEWUSER|CLONE_NEWNS) then mount(2)', probe('userns_mount'));
});

test('keyctl', async () => {
  await attack('keyctl(KEYCTL_GET_KEYRING_ID, session, create)', probe('keyctl'));
});

test('ptrace a host process', async () => {
  // The test runner's own PID: a host process, never in the container's PID namespace.
  await attack(`ptrace(PTRACE_ATTACH, host pid ${process.pid})`, probe('ptrace_attach', String(process.pid)));
});

test('write /proc/sys, /proc/sysrq-trigger and /sys/firmware', async () => {
  // Writes back the value the file has, so that a success changes nothing on the host.
  await attack(
    'write /proc/sys/kernel/randomize_va_space',
    script(
      'v=$(cat /proc/sys/kernel/randomize_va_space); echo "$v" > /proc/sys/kernel/randomize_va_space && echo ESCAPED',
    ),
  );
  // `h` only prints the SysRq help to the kernel log, should it ever get through.
  await attack('write /proc/sysrq-trigger', script('echo h > /proc/sysrq-trigger && echo ESCAPED'));
  await attack(
    'write /sys/firmware, list it',
    script('touch /sys/firmware/wharf-attack && echo ESCAPED; ls -A /sys/firmware | grep -q . && echo ESCAPED-listed'),
  );
});

test('read /proc/kcore', async () => {
  await attack(
    'read /proc/kcore',
    script(
      'n=$(dd if=/proc/kcore bs=4096 count=1 2>/dev/null | wc -c); echo "read $n bytes"; [ "$n" -gt 0 ] && echo ESCAPED',
    ),
  );
});

test('mknod a block device of the host and read it', async () => {
  // The host's first block device (the disk its root file system is on, here).
  const dev = readFileSync('/proc/partitions', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f.length === 4 && /^\d+$/.test(f[0]!));
  assert.ok(dev, 'the host has a block device');
  const [major, minor, , name] = dev;
  await attack(
    `mknod b ${major}:${minor} (${name}) and read it`,
    script(
      `mknod /tmp/disk b ${major} ${minor} || exit 0; n=$(dd if=/tmp/disk bs=512 count=1 2>/dev/null | wc -c); echo "read $n bytes"; [ "$n" -gt 0 ] && echo ESCAPED`,
    ),
  );
});

test('load a kernel module', async () => {
  await attack('init_module', probe('init_module'));
  await attack('finit_module', probe('finit_module'));
});

test("change the host's time", async () => {
  await attack('clock_settime(CLOCK_REALTIME)', probe('clock_settime'));
  await attack('settimeofday', probe('settimeofday'));
  await attack(
    'busybox date -s',
    script(
      // busybox's date exits 0 when it cannot set the time; its message says so.
      'date -s "$(date "+%Y-%m-%d %H:%M:%S")" 2>&1 | grep -q "can.t set" && echo "can\'t set date" || echo ESCAPED',
    ),
  );
});

test('reboot', async () => {
  await attack('reboot(LINUX_REBOOT_CMD_CAD_OFF)', probe('reboot'));
  await attack('busybox reboot -f', script('reboot -f && sleep 1 && echo ESCAPED'));
});

test('open a host inode by a forged file handle (shocker)', async () => {
  await attack('open_by_handle_at', probe('open_by_handle_at'));
});

test("reach the engine's state through /proc/<pid>/root while exec runs", async () => {
  // The container scans every /proc/<pid>/root it can see for the engine's state directory (a host path) while the
  // host starts `exec` processes into it: a process of the runtime that entered the PID namespace before its root
  // changed would show the host's root there (runc's CVE-2016-9962 class).
  for (const [engine, which] of [
    [b.wharf, 'wharf'],
    [b.docker, 'docker'],
  ] as const) {
    const target = which === 'wharf' ? b.root : b.dockerRoot;
    assert.ok(target.startsWith('/tmp/'), target);
    const name = `sec-procroot-${which}`;
    const scan = `i=0; while [ $i -lt 400 ]; do for p in /proc/[0-9]*; do [ -e "$p/root${target}" ] && echo "ESCAPED via $p"; done; i=$((i+1)); done 2>/dev/null | head -3; echo scanned`;
    ok(
      await engine([
        'run',
        '-d',
        '--name',
        name,
        '--network',
        'none',
        'busybox',
        'sh',
        '-c',
        `{ ${scan}; } > /tmp/scan; sleep 300`,
      ]),
      'run -d',
    );
    for (let i = 0; i < 5; i++) ok(await engine(['exec', name, 'true']), 'exec');
    let out = '';
    for (let i = 0; i < 300 && !/scanned/.test(out); i++) {
      out = (await engine(['exec', name, 'cat', '/tmp/scan'])).stdout;
      if (!/scanned/.test(out)) await sleep(100);
    }
    const result: Result = {
      outcome: /ESCAPED/.test(out) ? 'escaped' : 'blocked',
      detail: out.trim().replace(/\s+/g, ' ') || 'no answer',
    };
    ok(await engine(['rm', '-f', name]), 'rm');
    if (which === 'wharf') wharfProcRoot = result;
    else b.record("the engine's state through /proc/<pid>/root", wharfProcRoot!, result);
  }
});
let wharfProcRoot: Result | undefined;

test('a setuid-root binary under --security-opt no-new-privileges', async () => {
  const euid =
    (flags: string[]) =>
    async (engine: Engine): Promise<Result> => {
      const r = await engine([
        'run',
        '--rm',
        '--network',
        'none',
        '--user',
        '65534',
        ...flags,
        'busybox',
        'suid-probe',
        'euid',
      ]);
      const m = /^euid=(\d+)$/m.exec(r.stdout);
      return { outcome: m?.[1] === '0' ? 'escaped' : 'blocked', detail: m ? `euid ${m[1]}` : `exit ${r.code}` };
    };
  // The control: without the option the setuid bit works (so the image and the probe are right).
  assert.equal((await euid([])(b.wharf)).outcome, 'escaped', 'setuid works without no-new-privileges');
  await attack('setuid root with no-new-privileges', euid(['--security-opt', 'no-new-privileges']));
});
