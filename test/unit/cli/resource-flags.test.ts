/** The resource flags of run/create/update: values and messages as docker CLI 28 gives them (checked with a real one). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toResourceUpdate, toResources, type ResourceFlags } from '../../../src/cli/resource-flags.js';
import { updateRequest } from '../../../src/cli/commands/update.js';

const ok = (o: ResourceFlags) => toResources(o).resources;
const err = (o: ResourceFlags): string => {
  try {
    toResources(o);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

test('values parse to Docker HostConfig fields', () => {
  const r = ok({
    cpuShares: '512',
    cpuPeriod: '50000',
    cpuQuota: '-5',
    cpusetCpus: '0',
    memoryReservation: '32m',
    memorySwap: '-1',
    memorySwappiness: '10',
    pidsLimit: '100',
    blkioWeight: '300',
    blkioWeightDevice: ['/dev/sda:200'],
    deviceReadBps: ['/dev/sda:1mb'],
    deviceWriteIops: ['/dev/sda:200'],
    device: ['/dev/null:/dev/mynull:r', '/dev/zero', '/dev/full:rw'],
    deviceCgroupRule: ['c 1:3 mr', 'a *:* rwm'],
    ulimit: ['nproc=100', 'nofile=1024:2048', 'nproc=5:6'],
    oomKillDisable: true,
    oomScoreAdj: '100',
    cgroupParent: 'p',
    cgroupns: 'private',
  });
  assert.deepEqual(r, {
    CpuShares: 512,
    CpuPeriod: 50000,
    CpuQuota: -5,
    CpusetCpus: '0',
    MemoryReservation: 33554432,
    MemorySwap: -1,
    MemorySwappiness: 10,
    PidsLimit: 100,
    BlkioWeight: 300,
    BlkioWeightDevice: [{ Path: '/dev/sda', Weight: 200 }],
    BlkioDeviceReadBps: [{ Path: '/dev/sda', Rate: 1048576 }],
    BlkioDeviceWriteBps: [],
    BlkioDeviceReadIOps: [],
    BlkioDeviceWriteIOps: [{ Path: '/dev/sda', Rate: 200 }],
    Devices: [
      { PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'r' },
      { PathOnHost: '/dev/zero', PathInContainer: '/dev/zero', CgroupPermissions: 'rwm' },
      { PathOnHost: '/dev/full', PathInContainer: '/dev/full', CgroupPermissions: 'rw' },
    ],
    DeviceCgroupRules: ['c 1:3 mr', 'a *:* rwm'],
    Ulimits: [
      { Name: 'nofile', Hard: 2048, Soft: 1024 },
      { Name: 'nproc', Hard: 6, Soft: 5 },
    ],
    OomKillDisable: true,
    OomScoreAdj: 100,
    CgroupParent: 'p',
    CgroupnsMode: 'private',
  });
  assert.equal(ok({ memorySwappiness: '-1' }).MemorySwappiness, null);
});

test("bad values fail with docker CLI 28's messages", () => {
  const table: Array<[ResourceFlags, string]> = [
    [
      { cpuShares: 'x' },
      'invalid argument "x" for "-c, --cpu-shares" flag: strconv.ParseInt: parsing "x": invalid syntax',
    ],
    [{ pidsLimit: 'x' }, 'invalid argument "x" for "--pids-limit" flag: strconv.ParseInt: parsing "x": invalid syntax'],
    [
      { blkioWeight: 'x' },
      'invalid argument "x" for "--blkio-weight" flag: strconv.ParseUint: parsing "x": invalid syntax',
    ],
    [{ memorySwappiness: '101' }, 'invalid value: 101. Valid memory swappiness range is 0-100'],
    [{ memorySwappiness: '-2' }, 'invalid value: -2. Valid memory swappiness range is 0-100'],
    [{ memoryReservation: 'x' }, `invalid argument "x" for "--memory-reservation" flag: invalid size: 'x'`],
    [
      { blkioWeightDevice: ['/dev/sda'] },
      'invalid argument "/dev/sda" for "--blkio-weight-device" flag: bad format: /dev/sda',
    ],
    [
      { blkioWeightDevice: ['/dev/sda:5'] },
      'invalid argument "/dev/sda:5" for "--blkio-weight-device" flag: invalid weight for device: /dev/sda:5',
    ],
    [
      { blkioWeightDevice: ['sda:500'] },
      'invalid argument "sda:500" for "--blkio-weight-device" flag: bad format for device path: sda:500',
    ],
    [{ deviceReadBps: ['/dev/sda'] }, 'invalid argument "/dev/sda" for "--device-read-bps" flag: bad format: /dev/sda'],
    [
      { deviceReadBps: ['/dev/sda:x'] },
      'invalid argument "/dev/sda:x" for "--device-read-bps" flag: invalid rate for device: /dev/sda:x. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb',
    ],
    [
      { deviceReadBps: ['sda:1m'] },
      'invalid argument "sda:1m" for "--device-read-bps" flag: bad format for device path: sda:1m',
    ],
    [
      { deviceReadIops: ['/dev/sda:1m'] },
      'invalid argument "/dev/sda:1m" for "--device-read-iops" flag: invalid rate for device: /dev/sda:1m. The correct format is <device-path>:<number>. Number must be a positive integer',
    ],
    [{ device: ['/dev/null:rel'] }, 'rel is not an absolute path'],
    [{ device: ['/dev/null:/x:q'] }, 'bad mode specified: q'],
    [
      { deviceCgroupRule: ['x'] },
      `invalid argument "x" for "--device-cgroup-rule" flag: invalid device cgroup format 'x'`,
    ],
    [
      { deviceCgroupRule: ['c 1:3 q'] },
      `invalid argument "c 1:3 q" for "--device-cgroup-rule" flag: invalid device cgroup format 'c 1:3 q'`,
    ],
    [{ ulimit: ['x'] }, 'invalid argument "x" for "--ulimit" flag: invalid ulimit argument: x'],
    [{ ulimit: ['nofile'] }, 'invalid argument "nofile" for "--ulimit" flag: invalid ulimit argument: nofile'],
    [{ ulimit: ['foo=1'] }, 'invalid argument "foo=1" for "--ulimit" flag: invalid ulimit type: foo'],
    [
      { ulimit: ['nofile=x'] },
      'invalid argument "nofile=x" for "--ulimit" flag: strconv.ParseInt: parsing "x": invalid syntax',
    ],
    [
      { ulimit: ['nofile=10:5'] },
      'invalid argument "nofile=10:5" for "--ulimit" flag: ulimit soft limit must be less than or equal to hard limit: 10 > 5',
    ],
    [{ cgroupns: 'foo' }, '--cgroupns: invalid CGROUP mode'],
  ];
  for (const [flags, want] of table) assert.equal(err(flags), want, JSON.stringify(flags));
});

test("--kernel-memory is accepted, not applied, with Docker's deprecation warning", () => {
  const { resources, warnings } = toResources({ kernelMemory: '50m' });
  assert.equal('KernelMemory' in resources, false);
  assert.deepEqual(warnings, [
    'Specifying a kernel memory limit is deprecated and will be removed in a future release.',
  ]);
});

test('update: only the flags given, and at least one', () => {
  assert.deepEqual(toResourceUpdate({ cpuShares: '256', pidsLimit: '-1' }), { CpuShares: 256, PidsLimit: -1 });
  assert.deepEqual(updateRequest({ memory: '100m', cpus: '0.5' }).resources, {
    Memory: 104857600,
    NanoCpus: 500000000,
  });
  assert.throws(() => updateRequest({}), /you must provide one or more flags when using this command/);
});
