/** docker stats' figures: cgroup v1/v2 parsing (v2 on a fake tree), CPU % and memory as docker CLI 28 computes them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  parseBlkioV1,
  parseIoStatV2,
  parseNetDev,
  parseProcStatCpu,
  readCgroupSample,
  type StatsSample,
} from '../../../src/runtime/cgroup-stats.js';
import { bytesSize, cpuPercent, memUsageNoCache, statsRow } from '../../../src/cli/stats-format.js';

test('cgroup and /proc parsers', () => {
  assert.deepEqual(parseBlkioV1('254:0 Read 4096\n254:0 Write 8192\n254:0 Sync 1\n8:0 Read 1\nTotal 12289\n'), {
    read: 4097,
    write: 8192,
  });
  assert.deepEqual(parseIoStatV2('8:0 rbytes=100 wbytes=200 rios=1 wios=2\n8:16 rbytes=1 wbytes=2\n'), {
    read: 101,
    write: 202,
  });
  const netdev =
    'Inter-|   Receive                                                |  Transmit\n' +
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n' +
    '    lo:     500       5    0    0    0     0          0         0      500       5    0    0    0     0       0          0\n' +
    '  eth0:     876      10    0    0    0     0          0         0      472       6    0    0    0     0       0          0\n';
  assert.deepEqual(parseNetDev(netdev), { rx: 876, tx: 472 });
  assert.equal(parseProcStatCpu('cpu  100 0 50 1000 10 0 5 7 0 0\ncpu0 1 2 3\n'), 11650000000);
});

test('CPU %: container delta over system delta, times the online CPUs', () => {
  const s = (cpu: number, sys: number): StatsSample =>
    ({ cpuUsage: cpu, systemUsage: sys, onlineCpus: 2 }) as StatsSample;
  assert.equal(cpuPercent(s(1e9, 10e9), s(1.5e9, 12e9)), 50);
  assert.equal(cpuPercent(s(1e9, 10e9), s(1e9, 12e9)), 0);
  assert.equal(cpuPercent(s(1e9, 10e9), s(2e9, 10e9)), 0);
});

test('memory use leaves out the inactive file cache (v1 total_inactive_file, v2 inactive_file)', () => {
  assert.equal(memUsageNoCache({ memUsage: 1000, memStats: { total_inactive_file: 300, inactive_file: 10 } }), 700);
  assert.equal(memUsageNoCache({ memUsage: 1000, memStats: { inactive_file: 100 } }), 900);
  assert.equal(memUsageNoCache({ memUsage: 100, memStats: { total_inactive_file: 300 } }), 100);
  assert.equal(bytesSize(315392), '308KiB');
  assert.equal(bytesSize(64 * 1024 * 1024), '64MiB');
  assert.equal(bytesSize(2048 * 1024 * 1024 - 50 * 1024 * 1024), '1.951GiB');
});

test('a row for a running and for a stopped container', () => {
  const cur = {
    cpuUsage: 2e9,
    systemUsage: 20e9,
    onlineCpus: 2,
    memUsage: 400 * 1024,
    memLimit: 64 * 1024 * 1024,
    memStats: { total_inactive_file: 92 * 1024 },
    blkRead: 1500,
    blkWrite: 0,
    pids: 3,
    netRx: 876,
    netTx: 1_234_567,
  };
  const prev = { ...cur, cpuUsage: 1e9, systemUsage: 10e9 };
  const id = 'b03781fb5a7b18aaf65ae76d4dd6ebe414d9ed6dbd6992d9719c9af04ecaa068';
  assert.deepEqual(statsRow({ id, name: 's1' }, 's1', prev, cur, false), {
    BlockIO: '1.5kB / 0B',
    CPUPerc: '20.00%',
    Container: 's1',
    ID: 'b03781fb5a7b',
    MemPerc: '0.47%',
    MemUsage: '308KiB / 64MiB',
    Name: 's1',
    NetIO: '876B / 1.23MB',
    PIDs: '3',
  });
  const stopped = statsRow({ id, name: 's1' }, id.slice(0, 12), undefined, undefined, true);
  assert.equal(stopped.ID, id);
  assert.equal(
    `${stopped.CPUPerc} ${stopped.MemUsage} ${stopped.MemPerc} ${stopped.NetIO} ${stopped.PIDs}`,
    '0.00% 0B / 0B 0.00% 0B / 0B 0',
  );
});

test('cgroup v2: a fake unified tree', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'wharf-cg2-'));
  try {
    const dir = path.join(root, 'wharf/abc/ctr');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    await writeFile(path.join(dir, 'cpu.stat'), 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n');
    await writeFile(path.join(dir, 'memory.current'), '1048576\n');
    await writeFile(path.join(dir, 'memory.max'), 'max\n');
    await writeFile(path.join(dir, 'memory.stat'), 'anon 4096\ninactive_file 524288\n');
    await writeFile(path.join(dir, 'io.stat'), '254:0 rbytes=4096 wbytes=8192 rios=1 wios=2\n');
    await writeFile(path.join(dir, 'pids.current'), '4\n');
    const s = readCgroupSample('/wharf/abc/ctr', 8 * 1024 ** 3, root);
    assert.deepEqual(s, {
      cpuUsage: 1_500_000,
      memUsage: 1048576,
      memLimit: 8 * 1024 ** 3,
      memStats: { anon: 4096, inactive_file: 524288 },
      blkRead: 4096,
      blkWrite: 8192,
      pids: 4,
    });
    assert.equal(memUsageNoCache(s), 524288);
    await writeFile(path.join(dir, 'memory.max'), '67108864\n');
    assert.equal(readCgroupSample('/wharf/abc/ctr', 8 * 1024 ** 3, root).memLimit, 67108864);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a streamed frame is written as docker CLI 28 writes it', async () => {
  const { redraw } = await import('../../../src/cli/commands/stats.js');
  assert.equal(redraw('A   B\nx   y\n'), '\x1b[HA   B\nx   y\n\x1b[HA   B \x1b[K\nx   y \x1b[K\n \x1b[K\n\x1b[J');
});

test('a full sample from a fake /proc and cgroup v2 tree, and its row', async () => {
  const { readStatsSample } = await import('../../../src/runtime/cgroup-stats.js');
  const root = await mkdtemp(path.join(tmpdir(), 'wharf-stats-'));
  try {
    const cg = path.join(root, 'cg');
    const proc = path.join(root, 'proc');
    await mkdir(path.join(cg, 'wharf/abc/ctr'), { recursive: true });
    await mkdir(path.join(proc, '42/net'), { recursive: true });
    await writeFile(path.join(cg, 'cgroup.controllers'), 'cpu memory pids io\n');
    const dir = path.join(cg, 'wharf/abc/ctr');
    await writeFile(path.join(dir, 'cpu.stat'), 'usage_usec 2000000\n');
    await writeFile(path.join(dir, 'memory.current'), '2097152\n');
    await writeFile(path.join(dir, 'memory.max'), 'max\n');
    await writeFile(path.join(dir, 'memory.stat'), 'inactive_file 1048576\n');
    await writeFile(path.join(dir, 'pids.current'), '2\n');
    await writeFile(path.join(proc, 'meminfo'), 'MemTotal:        1048576 kB\n');
    await writeFile(path.join(proc, 'stat'), 'cpu  1000 0 0 1000 0 0 0 0 0 0\n');
    await writeFile(
      path.join(proc, '42/net/dev'),
      'h\nh\n    lo: 9 0 0 0 0 0 0 0 9 0 0 0 0 0 0 0\n  eth0: 1500 3 0 0 0 0 0 0 2500 4 0 0 0 0 0 0\n',
    );
    const s = readStatsSample({
      cgroupsPath: '/wharf/abc/ctr',
      pid: 42,
      onlineCpus: 2,
      cgroupRoot: cg,
      procRoot: proc,
    });
    assert.equal(s.systemUsage, 20e9);
    assert.equal(s.memLimit, 1024 ** 3);
    const prev = { ...s, cpuUsage: 1e9, systemUsage: 10e9 };
    const row = statsRow({ id: 'abc', name: 'c' }, 'c', prev, s, false);
    assert.equal(
      `${row.CPUPerc} ${row.MemUsage} ${row.MemPerc} ${row.NetIO} ${row.BlockIO} ${row.PIDs}`,
      '20.00% 1MiB / 1GiB 0.10% 1.5kB / 2.5kB 0B / 0B 2',
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
