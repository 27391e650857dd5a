/** Pure parts of the API's later endpoints: socket activation, stats frames, update bodies, build's registry config. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activationFd, inheritedListenFds } from '../../../src/api/activation.js';
import { parseListenUri } from '../../../src/api/listen.js';
import { statsFrame } from '../../../src/api/stats.js';
import { resourceUpdateOf } from '../../../src/api/container-update.js';
import { registryConfigCredentials } from '../../../src/api/build.js';
import type { StatsSample } from '../../../src/runtime/index.js';

test('socket activation: LISTEN_FDS counts fds from 3 only for the process LISTEN_PID names', () => {
  assert.deepEqual(inheritedListenFds({ LISTEN_FDS: '2', LISTEN_PID: '42' }, 42), [3, 4]);
  assert.deepEqual(inheritedListenFds({ LISTEN_FDS: '2', LISTEN_PID: '41' }, 42), []);
  assert.deepEqual(inheritedListenFds({ LISTEN_FDS: '0', LISTEN_PID: '42' }, 42), []);
  assert.deepEqual(inheritedListenFds({}, 42), []);
  const env: NodeJS.ProcessEnv = { LISTEN_FDS: '2', LISTEN_PID: '42', LISTEN_FDNAMES: 'a:wharf' };
  assert.equal(activationFd('wharf', env, 42), 4);
  assert.equal(env.LISTEN_FDS, undefined, 'the variables are removed once used');
  assert.equal(activationFd('', { LISTEN_FDS: '1', LISTEN_PID: '42' }, 42), 3);
  assert.equal(activationFd('3', { LISTEN_FDS: '1', LISTEN_PID: '42' }, 42), 3);
  assert.throws(() => activationFd('7', { LISTEN_FDS: '1', LISTEN_PID: '42' }, 42), /no socket 7/);
  assert.throws(() => activationFd('', {}, 42), /no sockets found via socket activation/);
  assert.deepEqual(parseListenUri('fd://'), { kind: 'fd', spec: '' });
  assert.deepEqual(parseListenUri('fd://wharf.socket'), { kind: 'fd', spec: 'wharf.socket' });
});

test("stats frames: Docker's StatsJSON keys the docker CLI computes from, and the zero frame of a stopped container", () => {
  const s = (cpu: number, sys: number): StatsSample => ({
    cpuUsage: cpu,
    systemUsage: sys,
    onlineCpus: 2,
    memUsage: 1000,
    memLimit: 4000,
    memStats: { total_inactive_file: 100 },
    blkRead: 10,
    blkWrite: 20,
    pids: 3,
    netRx: 5,
    netTx: 6,
  });
  const at = new Date('2026-12-07T00:00:01Z');
  const f = statsFrame({ id: 'abc', name: 'web' }, s(200, 2000), s(100, 1000), at, new Date('2026-12-07T00:00:00Z'));
  assert.equal(f.name, '/web');
  assert.equal(f.read, '2026-12-07T00:00:01.000Z');
  assert.deepEqual(f.pids_stats, { current: 3 });
  const cpu = f.cpu_stats as { cpu_usage: { total_usage: number }; system_cpu_usage: number; online_cpus: number };
  const pre = f.precpu_stats as { cpu_usage: { total_usage: number }; system_cpu_usage: number };
  assert.deepEqual([cpu.cpu_usage.total_usage, cpu.system_cpu_usage, cpu.online_cpus], [200, 2000, 2]);
  assert.deepEqual([pre.cpu_usage.total_usage, pre.system_cpu_usage], [100, 1000]);
  assert.deepEqual(f.memory_stats, { usage: 1000, stats: { total_inactive_file: 100 }, limit: 4000 });
  const blk = (f.blkio_stats as { io_service_bytes_recursive: Array<{ op: string; value: number }> })
    .io_service_bytes_recursive;
  assert.deepEqual(
    blk.filter((e) => e.op === 'Read' || e.op === 'Write').map((e) => e.value),
    [10, 20],
  );
  assert.deepEqual((f.networks as Record<string, { rx_bytes: number; tx_bytes: number }>).eth0?.rx_bytes, 5);
  const zero = statsFrame({ id: 'abc', name: 'web' }, undefined, undefined, undefined, undefined);
  assert.equal(zero.read, '0001-01-01T00:00:00Z');
  assert.deepEqual(zero.memory_stats, {});
  assert.equal(zero.networks, undefined);
});

test('update bodies: zero and empty mean unchanged, PidsLimit is kept unless null', () => {
  assert.deepEqual(
    resourceUpdateOf({
      Memory: 67108864,
      MemorySwap: 0,
      CpusetCpus: '',
      CpuShares: 512,
      PidsLimit: null,
      KernelMemory: 5,
      RestartPolicy: { Name: '' },
    }),
    { Memory: 67108864, CpuShares: 512 },
  );
  assert.deepEqual(resourceUpdateOf({ PidsLimit: -1 }), { PidsLimit: -1 });
});

test("build's X-Registry-Config: credentials by registry host, Docker Hub's index address as docker.io", () => {
  const header = Buffer.from(
    JSON.stringify({
      'https://index.docker.io/v1/': { username: 'hub', password: 'p1' },
      '127.0.0.1:5000': { username: 'bob', password: 'secret', serveraddress: '127.0.0.1:5000' },
      'empty.example': {},
    }),
  ).toString('base64');
  const m = registryConfigCredentials(header);
  assert.deepEqual(m.get('docker.io'), { username: 'hub', password: 'p1' });
  assert.deepEqual(m.get('127.0.0.1:5000'), { username: 'bob', password: 'secret' });
  assert.equal(m.has('empty.example'), false);
  assert.equal(registryConfigCredentials('e30=').size, 0);
  assert.equal(registryConfigCredentials(undefined).size, 0);
});

test('version shapes: each rule on its side of the version that changed it', async () => {
  const v = await import('../../../src/api/version-shapes.js');
  assert.equal(v.atLeast('1.41', '1.42'), false);
  assert.equal(v.atLeast('1.43', '1.42'), true);
  assert.equal(v.atLeast('1.100', '1.43'), true);
  assert.deepEqual([v.wsBinaryFrames('1.27'), v.wsBinaryFrames('1.28')], [false, true]);
  const q = new URLSearchParams('condition=removed&filter=web');
  assert.deepEqual([v.waitConditionParam(q, '1.29'), v.waitConditionParam(q, '1.30')], [null, 'removed']);
  assert.deepEqual(v.legacyImageFilter(q, '1.40'), ['reference=web']);
  assert.deepEqual(v.legacyImageFilter(q, '1.41'), []);
  const inspect = { Id: 'x', HostConfig: { Memory: 5 } };
  assert.deepEqual(v.shapeContainerInspect(inspect, '1.41').HostConfig, {
    KernelMemory: 0,
    KernelMemoryTCP: 0,
    Memory: 5,
  });
  assert.equal(v.shapeContainerInspect(inspect, '1.42'), inspect);
  assert.deepEqual(v.shapeDiskUsage({ Images: [], BuilderSize: 0 }, '1.42'), { Images: [] });
  assert.deepEqual(v.shapeDiskUsage({ Images: [] }, '1.41'), { Images: [], BuilderSize: 0 });
  const frame = { cpu_stats: { online_cpus: 2, system_cpu_usage: 1 }, precpu_stats: {} };
  assert.deepEqual(v.shapeStatsFrame(frame, '1.26').cpu_stats, { system_cpu_usage: 1 });
  assert.equal(v.shapeStatsFrame(frame, '1.27'), frame);
});

test('exec instances: kept while running, gone with their container or some minutes after they ended', async () => {
  const { reapExecs } = await import('../../../src/api/exec-reaper.js');
  const exec = (id: string, containerId: string, running: boolean) => ({
    id,
    containerId,
    cmd: ['true'],
    env: [],
    user: '',
    workdir: '',
    tty: false,
    privileged: false,
    attachStdin: false,
    attachStdout: true,
    attachStderr: true,
    running,
    exitCode: running ? null : 0,
    pid: 0,
  });
  const execs = new Map([
    ['a', exec('a', 'c1', true)],
    ['b', exec('b', 'c1', false)],
    ['c', exec('c', 'gone', false)],
  ]);
  const seen = new Map<string, number>();
  assert.deepEqual(reapExecs(execs, new Set(['c1']), seen, 1000, 300_000), ['c']);
  assert.deepEqual(reapExecs(execs, new Set(['c1']), seen, 200_000, 300_000), [], 'b ended 199 s ago: kept');
  assert.deepEqual(reapExecs(execs, new Set(['c1']), seen, 301_000, 300_000), ['b']);
  assert.deepEqual([...execs.keys()], ['a']);
  assert.equal(seen.size, 0);
});

test('build contexts: a tar the CLI ended without padding gets its end; a compressed one is left alone', async () => {
  const { completedTar } = await import('../../../src/api/build.js');
  const collect = async (chunks: Buffer[]) => {
    const out: Buffer[] = [];
    for await (const c of completedTar(
      (async function* () {
        yield* chunks;
      })(),
    ))
      out.push(c);
    return Buffer.concat(out);
  };
  assert.equal((await collect([Buffer.alloc(512, 1), Buffer.alloc(37, 2)])).length, 512 + 512 + 1024);
  assert.equal((await collect([Buffer.alloc(1024, 1)])).length, 1024 + 1024);
  const gz = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0]);
  assert.equal((await collect([gz])).length, gz.length);
  assert.equal((await collect([])).length, 0);
});
