/**
 * Fuzzing of the Engine API's outside input (issue 17): the multiplexed attach stream's decoder (demux ∘ mux is the
 * identity; any bytes decode without throwing) and the POST /containers/create body (any JSON: only WharfErrors, and
 * what it accepts has the types the engine expects).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { demux, muxFrame } from '../../src/api/frames.js';
import { createOptionsFromBody } from '../../src/api/create-body.js';
import { budget, onlyWharfErrors } from './budget.js';

test('attach frames: demux of mux is the identity, a cut stream loses only its last frame, bytes never throw', () => {
  const frame = fc.tuple(fc.constantFrom(1 as const, 2 as const), fc.uint8Array({ maxLength: 64 }));
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 8 }), fc.nat(), fc.uint8Array({ maxLength: 100 }), (frames, cut, junk) => {
      const stream = Buffer.concat(frames.map(([s, p]) => muxFrame(s, Buffer.from(p))));
      assert.deepEqual(
        demux(stream).map((f) => [f.stream, [...f.payload]]),
        frames.map(([s, p]) => [s, [...p]]),
      );
      const short = demux(stream.subarray(0, stream.length ? cut % stream.length : 0));
      assert.ok(short.length <= frames.length && (frames.length === 0 || short.length >= 0));
      for (const f of demux(Buffer.from(junk))) assert.ok(f.payload.length <= junk.length);
    }),
    budget(2000),
  );
});

const STRING_KEYS = ['Hostname', 'Domainname', 'User', 'Image', 'WorkingDir', 'MacAddress', 'StopSignal'];
const BOOL_KEYS = ['AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce'];
const HC_KEYS = [
  'Binds',
  'NetworkMode',
  'PortBindings',
  'RestartPolicy',
  'AutoRemove',
  'VolumesFrom',
  'CapAdd',
  'CapDrop',
  'Dns',
  'DnsOptions',
  'DnsSearch',
  'ExtraHosts',
  'Links',
  'GroupAdd',
  'IpcMode',
  'PidMode',
  'UTSMode',
  'UsernsMode',
  'Privileged',
  'PublishAllPorts',
  'ReadonlyRootfs',
  'SecurityOpt',
  'Tmpfs',
  'ShmSize',
  'Sysctls',
  'Memory',
  'NanoCpus',
  'Init',
  'LogConfig',
  'Annotations',
  'Mounts',
];
const value = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 2 })), { maxKeys: 3 }),
  fc.constant({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] }),
  fc.constant([{ Type: 'bind', Source: '/x', Target: '/y', ReadOnly: true }]),
  fc.constant({ Name: 'always', MaximumRetryCount: 2 }),
);
const keysOf = (keys: string[]) => fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 6 });
const body = fc.oneof(
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        keysOf([
          ...STRING_KEYS,
          ...BOOL_KEYS,
          'Env',
          'Cmd',
          'Entrypoint',
          'Labels',
          'ExposedPorts',
          'Healthcheck',
          'StopTimeout',
        ]),
        fc.option(keysOf(HC_KEYS)),
      )
      .map(([top, hc]) => ({ Image: 'busybox', ...top, ...(hc ? { HostConfig: hc } : {}) })),
  },
);

const isStrings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isStringMap = (v: unknown) =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((s) => typeof s === 'string');

test('create body: any JSON gives CreateOptions of the right types or a WharfError', () => {
  fc.assert(
    fc.property(body, fc.option(fc.string(), { nil: undefined }), (b, name) => {
      // biome-ignore lint/suspicious/noExplicitAny: the point is a body of any shape
      const o = onlyWharfErrors(() => createOptionsFromBody(b as any, name));
      if (o instanceof Error) return;
      for (const k of [
        'command',
        'env',
        'volumes',
        'mounts',
        'volumesFrom',
        'publish',
        'capAdd',
        'capDrop',
        'extraHosts',
        'dns',
        'dnsSearch',
        'dnsOptions',
        'groupAdd',
        'securityOpt',
        'expose',
      ] as const)
        assert.ok(isStrings(o[k]), `${k}: ${JSON.stringify(o[k])}`);
      for (const k of ['labels', 'sysctls', 'tmpfs', 'annotations', 'logOpts'] as const)
        assert.ok(isStringMap(o[k]), `${k}: ${JSON.stringify(o[k])}`);
      assert.equal(typeof o.image, 'string');
      for (const k of [
        'workdir',
        'user',
        'hostname',
        'domainname',
        'stopSignal',
        'ipc',
        'pid',
        'uts',
        'userns',
        'macAddress',
        'logDriver',
        'entrypoint',
      ] as const)
        assert.ok(o[k] === undefined || typeof o[k] === 'string', `${k}: ${JSON.stringify(o[k])}`);
      for (const k of ['memory', 'cpus', 'shmSize', 'stopTimeout'] as const)
        assert.ok(o[k] === undefined || typeof o[k] === 'number', `${k}: ${JSON.stringify(o[k])}`);
    }),
    budget(3000),
  );
});
