/**
 * Resource flags for real (issue 12): the cgroup files of a running container under runc, what the container sees
 * in /proc, `update` of a running container's limits, `stats` columns; `inspect`'s HostConfig, the messages of bad
 * values, `update`'s and `stats`' output side by side with a private dockerd (docker CLI 28).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { ok, runErrorLine, WHARF_BIN } from '../../helpers/cli.js';
import { dockerdAvailable, startDockerd, type Dockerd } from '../../helpers/dockerd.js';
import { withBusybox, type Fixture } from './fixture.js';

let f: Fixture;
let d: Dockerd;
const wharf = (args: string[]) => f.cli(args);
const docker = (args: string[]) => d.docker(args);

/** A block device of this host for the blkio flags (the first one /dev has). */
const blockDevice = ((): string => {
  const names = existsSync('/sys/block') ? readdirSync('/sys/block') : [];
  const pick =
    names.find((n) => !/^(loop|ram|zram)/.test(n) && existsSync(`/dev/${n}`)) ??
    names.find((n) => existsSync(`/dev/${n}`));
  return pick ? `/dev/${pick}` : '/dev/null';
})();
const devNumbers = readFileSync(`/sys/block/${path.basename(blockDevice)}/dev`, 'utf8').trim();

const cgroup = (id: string, controller: string, file: string): string =>
  readFileSync(`/sys/fs/cgroup/${controller}/wharf/${id}/ctr/${file}`, 'utf8').trim();

const v1 = !existsSync('/sys/fs/cgroup/cgroup.controllers');

const FLAGS = [
  '-c',
  '512',
  '--cpu-period',
  '50000',
  '--cpu-quota',
  '25000',
  '--cpuset-cpus',
  '0',
  '--cpuset-mems',
  '0',
  '-m',
  '64m',
  '--memory-swap',
  '128m',
  '--memory-reservation',
  '32m',
  '--memory-swappiness',
  '10',
  '--pids-limit',
  '100',
  '--device-read-bps',
  `${blockDevice}:1mb`,
  '--device-write-iops',
  `${blockDevice}:200`,
  '--device',
  '/dev/null:/dev/mynull:r',
  '--device-cgroup-rule',
  'c 1:3 mr',
  '--shm-size',
  '128m',
  '--ulimit',
  'nofile=1024:2048',
  '--oom-kill-disable',
  '--oom-score-adj',
  '100',
  '--cgroupns',
  'private',
];

before(async () => {
  if (!dockerdAvailable()) throw new Error('dockerd is not installed');
  f = await withBusybox('wharf-resources-');
  d = await startDockerd();
  const archive = path.join(f.root, 'busybox-save.tar');
  ok(await wharf(['save', 'busybox', '-o', archive]), 'save busybox');
  const loaded = await docker(['load', '-i', archive]);
  assert.equal(loaded.code, 0, loaded.stderr);
});
after(async () => {
  for (const n of ['res', 'upd', 'st']) await docker(['rm', '-f', n]).catch(() => {});
  await d?.stop();
  await f?.cleanup();
});

test('run: every resource flag reaches the cgroups and the process; inspect shows them as Docker does', async () => {
  const run = ok(
    await wharf([
      'run',
      '-d',
      '--name',
      'res',
      ...FLAGS,
      'busybox',
      'sh',
      '-c',
      'ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj; ls -l /dev/mynull; grep -c wharf /proc/self/cgroup; grep /dev/shm /proc/mounts; sleep 600',
    ]),
    'run',
  );
  const id = run.stdout.trim();
  if (v1) {
    assert.equal(cgroup(id, 'cpu', 'cpu.shares'), '512');
    assert.equal(cgroup(id, 'cpu', 'cpu.cfs_period_us'), '50000');
    assert.equal(cgroup(id, 'cpu', 'cpu.cfs_quota_us'), '25000');
    assert.equal(cgroup(id, 'cpuset', 'cpuset.cpus'), '0');
    assert.equal(cgroup(id, 'memory', 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
    assert.equal(cgroup(id, 'memory', 'memory.memsw.limit_in_bytes'), String(128 * 1024 * 1024));
    assert.equal(cgroup(id, 'memory', 'memory.soft_limit_in_bytes'), String(32 * 1024 * 1024));
    assert.equal(cgroup(id, 'memory', 'memory.swappiness'), '10');
    assert.match(cgroup(id, 'memory', 'memory.oom_control'), /^oom_kill_disable 1$/m);
    assert.equal(cgroup(id, 'pids', 'pids.max'), '100');
    assert.equal(cgroup(id, 'blkio', 'blkio.throttle.read_bps_device'), `${devNumbers} 1048576`);
    assert.equal(cgroup(id, 'blkio', 'blkio.throttle.write_iops_device'), `${devNumbers} 200`);
  }
  let out = '';
  for (let i = 0; i < 50 && !out.includes('/dev/shm'); i++) {
    out = (await wharf(['logs', 'res'])).stdout;
    await new Promise((r) => setTimeout(r, 100));
  }
  const lines = out.split('\n');
  assert.equal(lines[0], '1024');
  assert.equal(lines[1], '2048');
  assert.equal(lines[2], '100');
  assert.match(lines[3]!, /^cr--r--r--|^crw-rw-rw-/);
  assert.match(lines[3]!, /1,\s+3 .*\/dev\/mynull$/);
  // A private cgroup namespace: inside, the container's cgroups are the roots; the host sees them under wharf/.
  assert.equal(lines[4], '0');
  const pid = ok(await wharf(['inspect', '-f', '{{.State.Pid}}', 'res']), 'pid').stdout.trim();
  assert.match(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), /wharf/);
  assert.match(lines[5]!, /size=131072k/);

  // inspect: the same HostConfig resource fields as dockerd's for the same flags.
  ok(await docker(['create', '--name', 'res', ...FLAGS, 'busybox', 'true']), 'docker create');
  const keys = [
    'CpuShares',
    'CpuPeriod',
    'CpuQuota',
    'CpuRealtimePeriod',
    'CpuRealtimeRuntime',
    'CpusetCpus',
    'CpusetMems',
    'Memory',
    'MemorySwap',
    'MemoryReservation',
    'MemorySwappiness',
    'PidsLimit',
    'BlkioWeight',
    'BlkioWeightDevice',
    'BlkioDeviceReadBps',
    'BlkioDeviceWriteBps',
    'BlkioDeviceReadIOps',
    'BlkioDeviceWriteIOps',
    'Devices',
    'DeviceCgroupRules',
    'ShmSize',
    'Ulimits',
    'OomKillDisable',
    'OomScoreAdj',
    'CgroupnsMode',
    'CgroupParent',
  ];
  const hostConfig = async (cli: typeof wharf) => {
    const all = JSON.parse(ok(await cli(['inspect', '-f', '{{json .HostConfig}}', 'res']), 'inspect').stdout);
    return Object.fromEntries(keys.map((k) => [k, all[k]]));
  };
  assert.deepEqual(await hostConfig(wharf), await hostConfig(docker));
  ok(await wharf(['rm', '-f', 'res']), 'rm');
});

test('bad values: the messages and exit code of docker CLI 28 and its daemon', async () => {
  const cases: string[][] = [
    ['-c', 'x'],
    ['--cpus', 'x'],
    ['--cpus', '99'],
    ['--cpu-period', '500'],
    ['--cpu-quota', '500'],
    ['--cpus', '1', '--cpu-quota', '50000'],
    ['--cpu-rt-period', '1000', '--cpu-rt-runtime', '2000'],
    ['--cpuset-cpus', '99'],
    ['--cpuset-cpus', 'abc'],
    ['-m', '1k'],
    ['-m', 'x'],
    ['--memory-swap', '10m'],
    ['-m', '10m', '--memory-swap', '5m'],
    ['--memory-reservation', '1k'],
    ['-m', '10m', '--memory-reservation', '20m'],
    ['--memory-swappiness', '101'],
    ['--pids-limit', 'x'],
    ['--blkio-weight', 'x'],
    ['--blkio-weight-device', '/dev/sda:5'],
    ['--device-read-bps', '/dev/sda:x'],
    ['--device-read-iops', '/dev/sda:1m'],
    ['--device', '/dev/null:rel'],
    ['--device', '/dev/null:/x:q'],
    ['--device-cgroup-rule', 'x'],
    ['--shm-size', '-1'],
    ['--ulimit', 'foo=1'],
    ['--ulimit', 'nofile=10:5'],
    ['--oom-score-adj', '2000'],
    ['--cgroupns', 'foo'],
  ];
  for (const flags of cases) {
    // create: the CLI's refusals exit 125 with the usage, the daemon's 1; the same text but for the program's name.
    const w = await wharf(['create', ...flags, 'busybox']);
    const k = await docker(['create', ...flags, 'busybox']);
    assert.equal(w.code, k.code, `${flags.join(' ')}: ${w.stderr}`);
    assert.equal(w.stderr.replace(/wharf/g, 'docker'), k.stderr, flags.join(' '));
  }
});

test("create's warnings are the daemon's: kernel memory, what this host's cgroups lack, OOM killer without a limit", async () => {
  for (const flags of [
    ['--kernel-memory', '50m'],
    ['--blkio-weight', '300', '--blkio-weight-device', `${blockDevice}:200`],
    ['--oom-kill-disable'],
  ]) {
    const w = await wharf(['create', ...flags, 'busybox']);
    const k = await docker(['create', ...flags, 'busybox']);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(w.stderr, k.stderr, flags.join(' '));
  }
});

test('a --ulimit this machine cannot apply is recorded and explained in one line', async () => {
  const hard = 2 ** 40;
  const r = await wharf(['run', '--rm', '--ulimit', `nofile=1024:${hard}`, 'busybox', 'sh', '-c', 'ulimit -Hn']);
  assert.equal(r.code, 0, r.stderr);
  if (r.stdout !== `${hard}\n`) {
    // Refused (here: no CAP_SYS_RESOURCE to raise a hard limit): one line, and the container runs without it.
    assert.match(
      r.stderr,
      /^WARNING: --ulimit nofile=1024:1099511627776 not applied: this machine refuses prlimit\(\) on another process \([^\n]*Operation not permitted\)\n$/,
    );
  }
  const c = ok(await wharf(['create', '--ulimit', `nofile=1024:${hard}`, 'busybox']), 'create');
  assert.equal(c.stderr, r.stderr);
  const ulimits = ok(await wharf(['inspect', '-f', '{{json .HostConfig.Ulimits}}', c.stdout.trim()]), 'inspect');
  assert.equal(ulimits.stdout, `[{"Name":"nofile","Hard":${hard},"Soft":1024}]\n`);
});

test('update: a running container gets its new memory limit at once; output as docker update', async () => {
  for (const cli of [wharf, docker])
    ok(await cli(['run', '-d', '--name', 'upd', '-m', '64m', 'busybox', 'sleep', '600']), 'run');
  const id = ok(await wharf(['inspect', '-f', '{{.Id}}', 'upd']), 'id').stdout.trim();
  if (v1) assert.equal(cgroup(id, 'memory', 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
  const since = String(Math.floor(Date.now() / 1000));
  for (const args of [
    ['update', '-m', '100m', '--memory-swap', '200m', 'upd'],
    ['update', '-m', '100m', 'nope', 'upd'],
    ['update', 'upd'],
    ['update', '-m', '1m', 'upd'],
    ['container', 'update', '--cpus', '0.5', '--pids-limit', '50', '-c', '256', '--memory-reservation', '10m', 'upd'],
    ['update', '--restart', 'foo', 'upd'],
    ['update', '--restart', 'on-failure:x', 'upd'],
    ['update', '--restart', 'on-failure:3', 'upd'],
    ['update', '-c', 'x', 'upd'],
  ]) {
    const w = await wharf(args);
    const k = await docker(args);
    assert.equal(w.code, k.code, `${args.join(' ')}: ${w.stderr} / ${k.stderr}`);
    assert.equal(w.stdout, k.stdout, args.join(' '));
    assert.equal(w.stderr.replace(/wharf/g, 'docker'), k.stderr, args.join(' '));
  }
  // One `update` event per container updated, none for a refused update.
  await new Promise((r) => setTimeout(r, 1100));
  const until = String(Math.floor(Date.now() / 1000));
  const updates = (cli: typeof wharf) =>
    cli([
      'events',
      '--since',
      since,
      '--until',
      until,
      '--filter',
      'event=update',
      '--format',
      '{{.Action}} {{.Actor.Attributes.name}}',
    ]);
  assert.equal(ok(await updates(wharf), 'events').stdout, ok(await updates(docker), 'docker events').stdout);
  const fields =
    '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpuShares}} {{.HostConfig.MemoryReservation}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}';
  const w = ok(await wharf(['inspect', '-f', fields, 'upd']), 'inspect');
  assert.equal(w.stdout, ok(await docker(['inspect', '-f', fields, 'upd']), 'docker inspect').stdout);
  if (v1) {
    assert.equal(cgroup(id, 'memory', 'memory.limit_in_bytes'), String(100 * 1024 * 1024));
    assert.equal(cgroup(id, 'memory', 'memory.memsw.limit_in_bytes'), String(200 * 1024 * 1024));
    assert.equal(cgroup(id, 'cpu', 'cpu.cfs_quota_us'), '50000');
    assert.equal(cgroup(id, 'pids', 'pids.max'), '50');
  }
  // A stopped container: recorded for the next start.
  ok(await wharf(['stop', '-t', '0', 'upd']), 'stop');
  ok(await wharf(['update', '-m', '120m', 'upd']), 'update stopped');
  ok(await wharf(['start', 'upd']), 'start');
  if (v1) assert.equal(cgroup(id, 'memory', 'memory.limit_in_bytes'), String(120 * 1024 * 1024));
  ok(await wharf(['rm', '-f', 'upd']), 'rm');
});

test('stats --no-stream: the same columns and figures of the same kind as dockerd', async () => {
  for (const cli of [wharf, docker])
    ok(await cli(['run', '-d', '--name', 'st', '--network', 'none', '-m', '64m', 'busybox', 'sleep', '600']), 'run');
  const table = ok(await wharf(['stats', '--no-stream', 'st']), 'stats');
  const theirs = ok(await docker(['stats', '--no-stream', 'st']), 'docker stats');
  // The same column names in the same order. Their padding follows the widest value of each column (the docker
  // CLI's tabwriter, which Wharf's table copies): BLOCK I/O is "0B / 0B" on one engine and "4.1kB / 0B" on the other
  // depending on what the page cache already held, so the padding itself is not compared.
  const columns = (out: string) => out.split('\n')[0]!.split(/\s{2,}/);
  assert.deepEqual(columns(table.stdout), columns(theirs.stdout));
  const row =
    /^[0-9a-f]{12}\s{3}st\s+\d+\.\d\d%\s+[\d.]+(B|KiB|MiB) \/ 64MiB\s+\d+\.\d\d%\s+0B \/ 0B\s+[\d.]+k?B \/ [\d.]+k?B\s+1$/;
  assert.match(table.stdout.split('\n')[1]!, row);
  assert.match(theirs.stdout.split('\n')[1]!, row);
  const fmt = '{{.Container}}|{{.Name}}|{{.CPUPerc}}|{{.MemPerc}}|{{.NetIO}}|{{.PIDs}}';
  const w = ok(await wharf(['stats', '--no-stream', '--format', fmt, 'st']), 'stats --format');
  assert.match(w.stdout, /^st\|st\|\d+\.\d\d%\|\d+\.\d\d%\|0B \/ 0B\|1\n$/);
  const json = ok(await wharf(['container', 'stats', '--no-stream', '--format', 'json', 'st']), 'stats json');
  const keys = (s: string) => Object.keys(JSON.parse(s.split('\n')[0]!) as object);
  assert.deepEqual(
    keys(json.stdout),
    keys(ok(await docker(['stats', '--no-stream', '--format', 'json', 'st']), 'j').stdout),
  );
  const missing = await wharf(['stats', '--no-stream', 'nope']);
  assert.equal(missing.code, (await docker(['stats', '--no-stream', 'nope'])).code);
  // -a lists a stopped container with zeros.
  const created = ok(await wharf(['create', 'busybox']), 'create').stdout.trim();
  const all = ok(
    await wharf(['stats', '--no-stream', '-a', '--format', '{{.ID}} {{.MemUsage}} {{.PIDs}}']),
    'stats -a',
  );
  assert.match(all.stdout, new RegExp(`^${created.slice(0, 12)} 0B / 0B 0$`, 'm'));
  ok(await wharf(['rm', '-f', 'st', created]), 'rm');
});

test('stats streams: a busy container shows CPU use; frames are redrawn until interrupted', async () => {
  ok(
    await wharf(['run', '-d', '--name', 'busy', '--cpus', '0.5', 'busybox', 'sh', '-c', 'while :; do :; done']),
    'run',
  );
  const once = ok(await wharf(['stats', '--no-stream', '--format', '{{.CPUPerc}}', 'busy']), 'stats');
  assert.ok(Number.parseFloat(once.stdout) > 0, once.stdout);
  const child = spawn(WHARF_BIN, ['--root', f.root, 'stats', '--format', '{{.Name}} {{.PIDs}}', 'busy'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const twoFrames = new Promise<void>((resolve) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.split('\x1b[J').length > 2) resolve();
    });
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    await Promise.race([twoFrames, exited]);
  } finally {
    child.kill('SIGINT');
  }
  await exited;
  const frames = out.split('\x1b[J');
  assert.ok(frames.length > 2, out);
  // As docker CLI 28 writes a frame: home, the table, the table again with each line erased to its end.
  assert.equal(frames[0], '\x1b[Hbusy 1\n\x1b[Hbusy 1 \x1b[K\n \x1b[K\n');
  ok(await wharf(['rm', '-f', 'busy']), 'rm');
});

test('--device: a missing host device fails the start with Docker’s message; a directory gives every node in it', async () => {
  const w = await wharf(['run', '--rm', '--device', '/dev/nope', 'busybox', 'true']);
  const k = await docker(['run', '--rm', '--device', '/dev/nope', 'busybox', 'true']);
  // docker run exits 127 here: its CLI reads any "no such file or directory" as a missing command. Wharf: 125.
  assert.equal(w.code, 125);
  assert.equal(k.code, 127);
  assert.equal(
    runErrorLine(w.stderr),
    k.stderr
      .split('\n')[0]!
      .replace(/^docker: /, '')
      .replace(/\.$/, ''),
  );
  const dir = ['/dev/net', '/dev/snd', '/dev/input'].find((p) => existsSync(p) && readdirSync(p).length > 0);
  if (dir) {
    const ls = ok(await wharf(['run', '--rm', '--device', `${dir}:/dev/x`, 'busybox', 'ls', '/dev/x']), 'dir');
    assert.deepEqual(ls.stdout.trim().split(/\s+/).sort(), readdirSync(dir).sort());
  }
});

test('--cgroup-parent: the container’s cgroup is under that parent, and stats reads it there', async () => {
  const parent = `wharf-res-parent-${process.pid}`;
  const id = ok(
    await wharf(['run', '-d', '--cgroup-parent', parent, '-m', '32m', 'busybox', 'sleep', '600']),
    'run',
  ).stdout.trim();
  try {
    const dir = v1 ? `/sys/fs/cgroup/memory/${parent}/${id}/ctr` : `/sys/fs/cgroup/${parent}/${id}/ctr`;
    assert.ok(existsSync(dir), dir);
    const st = ok(await wharf(['stats', '--no-stream', '--format', '{{.MemUsage}}', id]), 'stats');
    assert.match(st.stdout, / \/ 32MiB\n$/);
  } finally {
    ok(await wharf(['rm', '-f', id]), 'rm');
    // The parent is the user's, as with Docker: left in place by the engine, removed by the test.
    for (const c of v1 ? readdirSync('/sys/fs/cgroup') : ['']) {
      const p = path.join('/sys/fs/cgroup', c, parent);
      // Bounded: the monitor removes the container's own cgroup just after the exit.
      for (let i = 0; i < 50 && existsSync(p); i++) {
        try {
          rmdirSync(p);
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  }
});
