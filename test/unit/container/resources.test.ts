/** The daemon's checks of resource settings (moby's verifyPlatformContainerResources) and `docker update`'s merge. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkResources,
  mergeResourceUpdate,
  parseCpuset,
  resourcesOf,
  type HostResources,
  type Resources,
} from '../../../src/container/resources.js';
import { applicableUlimits, hasSysResource, parseProcLimits } from '../../../src/container/host-resources.js';

const host: HostResources = {
  ncpu: 2,
  cpus: '0-1',
  mems: '0',
  cgroupVersion: 1,
  swapLimit: true,
  memoryReservation: true,
  swappiness: true,
  oomKillDisable: true,
  cpuCfs: true,
  cpuRealtime: true,
  blkioWeight: false,
  blkioWeightDevice: false,
  blkioThrottle: true,
  pids: true,
};
const res = (r: Partial<Resources>): Resources => ({ ...resourcesOf({}), Memory: 0, NanoCpus: 0, ...r });
const M = 1024 * 1024;
const message = (r: Partial<Resources>): string => {
  try {
    checkResources(res(r), host);
  } catch (e) {
    return (e as Error).message;
  }
  return 'ok';
};

test("the daemon's messages, as a real dockerd gives them", () => {
  const table: Array<[Partial<Resources>, string]> = [
    [{ Memory: 1024 }, 'Minimum memory limit allowed is 6MB'],
    [{ MemorySwap: 10 * M }, 'You should always set the Memory limit when using Memoryswap limit, see usage'],
    [{ Memory: 10 * M, MemorySwap: 5 * M }, 'Minimum memoryswap limit should be larger than memory limit, see usage'],
    [{ MemoryReservation: 1024 }, 'Minimum memory reservation allowed is 6MB'],
    [
      { Memory: 10 * M, MemoryReservation: 20 * M },
      'Minimum memory limit can not be less than memory reservation limit, see usage',
    ],
    [{ NanoCpus: -1e9 }, 'Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available'],
    [{ NanoCpus: 99e9 }, 'Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available'],
    [{ NanoCpus: 1e9, CpuQuota: 50000 }, 'Conflicting options: Nano CPUs and CPU Quota cannot both be set'],
    [{ CpuPeriod: 500 }, 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)'],
    [{ CpuQuota: 500 }, 'CPU cfs quota can not be less than 1ms (i.e. 1000)'],
    [
      { CpuRealtimePeriod: 1000, CpuRealtimeRuntime: 2000 },
      'cpu real-time runtime cannot be higher than cpu real-time period',
    ],
    [{ CpusetCpus: '99' }, 'Requested CPUs are not available - requested 99, available: 0-1'],
    [{ CpusetCpus: 'abc' }, 'Invalid value abc for cpuset cpus: invalid format: abc'],
    [{ CpusetMems: '5' }, 'Requested memory nodes are not available - requested 5, available: 0'],
    [{ OomScoreAdj: 2000 }, 'Invalid value 2000, range for oom score adj is [-1000, 1000]'],
    [{ CpuQuota: -5, CpuRealtimePeriod: 1000, Memory: 10 * M, MemorySwap: -1 }, 'ok'],
  ];
  for (const [r, want] of table) assert.equal(message(r), want, JSON.stringify(r));
});

test('what the host lacks is discarded with Docker’s warning; swap defaults to twice the memory', () => {
  const r = res({ BlkioWeight: 300, BlkioWeightDevice: [{ Path: '/dev/sda', Weight: 200 }], Memory: 64 * M });
  const warnings = checkResources(r, host);
  assert.deepEqual(warnings, [
    'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.',
    'Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.',
  ]);
  assert.equal(r.BlkioWeight, 0);
  assert.deepEqual(r.BlkioWeightDevice, []);
  assert.equal(r.MemorySwap, 128 * M);
  const oom = res({ OomKillDisable: true, PidsLimit: 0 });
  assert.match(checkResources(oom, host)[0]!, /^OOM killer is disabled for the container, but no memory limit is set/);
  assert.equal(oom.PidsLimit, null);
});

test('update merges as docker does', () => {
  const cur = res({ Memory: 64 * M, MemorySwap: 128 * M, NanoCpus: 1e9 });
  const next = mergeResourceUpdate(cur, { Memory: 100 * M, CpuShares: 256, PidsLimit: 50 });
  assert.equal(next.Memory, 100 * M);
  assert.equal(next.MemorySwap, 128 * M);
  assert.equal(next.CpuShares, 256);
  assert.equal(next.PidsLimit, 50);
  assert.equal(mergeResourceUpdate(next, { PidsLimit: -1 }).PidsLimit, null);
  assert.throws(
    () => mergeResourceUpdate(cur, { Memory: 300 * M }, 'abc'),
    /Cannot update container abc: Memory limit should be smaller than already set memoryswap limit/,
  );
  assert.throws(
    () => mergeResourceUpdate(cur, { CpuQuota: 50000 }),
    /Conflicting options: NanoCPUs cannot be updated as CPU Quota has already been set/,
  );
});

test('cpuset lists', () => {
  assert.deepEqual([...parseCpuset('0-2,5')!], [0, 1, 2, 5]);
  assert.equal(parseCpuset('a'), undefined);
  assert.equal(parseCpuset('3-1'), undefined);
});

test('a --ulimit above the hard limit without CAP_SYS_RESOURCE is refused in one line', () => {
  const limits = parseProcLimits(
    'Limit                     Soft Limit           Hard Limit           Units     \n' +
      'Max processes             96367                96367                processes \n' +
      'Max open files            1024                 4096                 files     \n' +
      'Max core file size        0                    unlimited            bytes     \n',
  );
  assert.deepEqual(
    [...limits],
    [
      ['core', -1],
      ['nofile', 4096],
      ['nproc', 96367],
    ],
  );
  assert.equal(hasSysResource('CapEff:\t000001fffeffffff\n'), false);
  assert.equal(hasSysResource('CapEff:\t000001ffffffffff\n'), true);
  const u = [
    { Name: 'nofile', Soft: 1024, Hard: 2048 },
    { Name: 'nproc', Soft: 100, Hard: 99999999 },
  ];
  const no = applicableUlimits(u, { limits, sysResource: false });
  assert.deepEqual(no.apply, [u[0]]);
  assert.deepEqual(no.refused, [
    '--ulimit nproc=100:99999999 not applied: this machine refuses prlimit() above its own hard limit (96367) without CAP_SYS_RESOURCE',
  ]);
  assert.deepEqual(applicableUlimits(u, { limits, sysResource: true }).apply, u);
});
