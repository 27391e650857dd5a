/** The resource settings in the OCI spec, as moby's oci_linux.go writes them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DOCKER_DEVICE_RULES, buildSpec, deviceCgroupRule } from '../../../src/runtime/index.js';

const image = { Cmd: ['sh'] };
test('cpu, memory, blkio, devices, rlimits, OOM and the cgroup namespace', () => {
  const spec = buildSpec(image, {
    rootfs: 'rootfs',
    network: { mode: 'new' },
    memory: 64 * 1024 * 1024,
    memorySwap: 128 * 1024 * 1024,
    cpuShares: 512,
    pidsLimit: 100,
    resources: {
      cpuPeriod: 50000,
      cpuQuota: 25000,
      cpusetCpus: '0',
      memoryReservation: 32 * 1024 * 1024,
      memorySwappiness: 10,
      oomKillDisable: true,
      throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 1048576 }],
      devices: [
        {
          pathInContainer: '/dev/mynull',
          type: 'c',
          major: 1,
          minor: 3,
          fileMode: 0o666,
          uid: 0,
          gid: 0,
          permissions: 'r',
        },
      ],
      deviceCgroupRules: ['c 1:5 mr', 'a *:* m'],
      ulimits: [{ name: 'nofile', soft: 1024, hard: 2048 }],
      oomScoreAdj: 100,
      cgroupnsPrivate: true,
    },
  });
  const r = spec.linux.resources!;
  assert.deepEqual(r.cpu, { period: 50000, quota: 25000, shares: 512, cpus: '0' });
  assert.deepEqual(r.memory, {
    limit: 67108864,
    swap: 134217728,
    reservation: 33554432,
    swappiness: 10,
    disableOOMKiller: true,
  });
  assert.deepEqual(r.pids, { limit: 100 });
  assert.deepEqual(r.blockIO, { throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 1048576 }] });
  assert.deepEqual(r.devices, [
    ...DOCKER_DEVICE_RULES,
    { allow: true, type: 'c', major: 1, minor: 3, access: 'r' },
    { allow: true, type: 'c', major: 1, minor: 5, access: 'mr' },
    { allow: true, type: 'a', access: 'm' },
  ]);
  assert.deepEqual(spec.linux.devices, [
    { path: '/dev/mynull', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  ]);
  assert.deepEqual(spec.process.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 2048, soft: 1024 }]);
  assert.equal(spec.process.oomScoreAdj, 100);
  assert.ok(spec.linux.namespaces.some((n) => n.type === 'cgroup'));
});

test('device cgroup rules', () => {
  assert.deepEqual(deviceCgroupRule('b 8:* rw'), { allow: true, type: 'b', major: 8, access: 'rw' });
  assert.throws(() => deviceCgroupRule('c 1:3 q'));
});
