import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ok } from '../../helpers/cli.js';
import { buildSuite, type Root } from './helpers.js';

let t: Root;
const { ctx } = buildSuite((r) => ({ t } = r));

// The classic builder gives its RUN step containers build's resource flags; the step reads its own cgroup's values.
const DOCKERFILE = `FROM busybox
RUN cat /proc/self/cgroup | grep -E ':memory:|^0::' | head -1; \\
    m=$(grep -E ':memory:' /proc/self/cgroup | cut -d: -f3); \\
    cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; \\
    cat /sys/fs/cgroup/cpu/cpu.shares 2>/dev/null || cat /sys/fs/cgroup/cpu,cpuacct/cpu.shares 2>/dev/null || true; \\
    df -k /dev/shm | tail -1
`;

test('build -m/-c/--shm-size/--cgroup-parent apply to the RUN steps; --compress is accepted', async () => {
  const dir = await ctx({ Dockerfile: DOCKERFILE });
  const r = ok(
    await t.cli([
      'build',
      '--no-cache',
      '--compress',
      '-m',
      '64m',
      '-c',
      '512',
      '--shm-size',
      '16m',
      '--cgroup-parent',
      'wharf-build-test',
      '--progress',
      'plain',
      dir,
    ]),
    'build',
  );
  assert.match(r.stdout, /\/wharf-build-test\/[0-9a-f]{64}\n/, r.stdout);
  assert.match(r.stdout, /^67108864$/m);
  assert.match(r.stdout, /^512$/m);
  assert.match(r.stdout, /^shm\s+16384\s/m);
});

test("build's resource flags: the CLI's and dockerd's messages", async () => {
  const dir = await ctx({ Dockerfile: 'FROM busybox\nRUN true\n' });
  const cases: Array<[string[], number, RegExp]> = [
    [['-m', '1k'], 1, /^Minimum memory limit allowed is 6MB$/m],
    [['-m', '10m', '--memory-swap', '5m'], 1, /Minimum memoryswap limit should be larger than memory limit, see usage/],
    [['--cpu-quota', '5'], 1, /CPU cfs quota can not be less than 1ms \(i\.e\. 1000\)/],
    [['--cpuset-cpus', '999'], 1, /Requested CPUs are not available - requested 999, available: /],
    [
      ['-c', 'x'],
      125,
      /invalid argument "x" for "-c, --cpu-shares" flag: strconv\.ParseInt: parsing "x": invalid syntax/,
    ],
    [['--ulimit', 'nofile=x'], 125, /invalid argument "nofile=x" for "--ulimit" flag: strconv\.ParseInt: parsing "x"/],
    [['--shm-size', '-1'], 125, /invalid argument "-1" for "--shm-size" flag: invalid size: '-1'/],
    [
      ['--security-opt', 'no-new-privileges'],
      1,
      /^Error response from daemon: The daemon on this platform does not support setting security options on build$/m,
    ],
  ];
  for (const [args, code, msg] of cases) {
    const r = await t.cli(['build', ...args, dir]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg, args.join(' '));
  }
});
