import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WharfError } from '../../../src/errors/index.js';
import { connectOptionsOf, createOptionsFromBody, endpointsOf, networkModeOf } from '../../../src/api/create-body.js';
import { errorResponse } from '../../../src/api/errors.js';
import { demux, jsonMessage, muxFrame } from '../../../src/api/frames.js';
import { parseListenUri } from '../../../src/api/listen.js';
import { matchRoute } from '../../../src/api/routes.js';
import { splitVersion } from '../../../src/api/versions.js';
import { parseWaitCondition } from '../../../src/container/index.js';

test('WharfError codes map to dockerd statuses', () => {
  const status = (code: ConstructorParameters<typeof WharfError>[0]) => errorResponse(new WharfError(code, 'x')).status;
  assert.equal(status('NOT_FOUND'), 404);
  assert.equal(status('CONFLICT'), 409);
  assert.equal(status('ALREADY_EXISTS'), 409);
  assert.equal(status('INVALID_ARGUMENT'), 400);
  assert.equal(status('COMMAND_NOT_FOUND'), 400);
  assert.equal(status('INTERNAL'), 500);
  assert.deepEqual(errorResponse(new Error('boom')), { status: 500, message: 'boom' });
});

test('version prefixes: 1.24 to 1.43 are served, others are 400', () => {
  assert.deepEqual(splitVersion('/v1.41/containers/json'), { version: '1.41', path: '/containers/json' });
  assert.deepEqual(splitVersion('/_ping'), { version: '1.43', path: '/_ping' });
  assert.throws(() => splitVersion('/v1.50/info'), /too new/);
  assert.throws(() => splitVersion('/v1.18/info'), /too old/);
});

test('routes: names with slashes and colons, 405 for a known path', () => {
  const m = matchRoute('GET', '/images/127.0.0.1:5000/x/web:v1/json');
  assert.ok(m && 'handler' in m);
  assert.deepEqual(m.params, { name: '127.0.0.1:5000/x/web:v1' });
  const d = matchRoute('DELETE', '/images/web:v1');
  assert.ok(d && 'handler' in d);
  assert.deepEqual(d.params, { name: 'web:v1' });
  assert.deepEqual(matchRoute('PUT', '/info'), { allowed: ['GET'] });
  assert.equal(matchRoute('GET', '/nope'), undefined);
});

test('mux frames: 8-byte header, stream and big-endian length', () => {
  const f = muxFrame(2, 'err1\n');
  assert.deepEqual([...f.subarray(0, 8)], [2, 0, 0, 0, 0, 0, 0, 5]);
  assert.deepEqual(
    demux(Buffer.concat([muxFrame(1, 'a'), f])).map((x) => [x.stream, x.payload.toString()]),
    [
      [1, 'a'],
      [2, 'err1\n'],
    ],
  );
  assert.equal(jsonMessage({ progress: '[=>  ]' }), '{"progress":"[=\\u003e  ]"}\r\n');
});

test('the create body becomes CreateOptions, unknown keys ignored', () => {
  const o = createOptionsFromBody(
    {
      Image: 'web:v1',
      Cmd: null,
      Env: ['A=1'],
      Tty: true,
      OpenStdin: true,
      AttachStdin: true,
      ExposedPorts: { '80/tcp': {} },
      HostConfig: {
        NetworkMode: 'default',
        Binds: ['v1:/data'],
        PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '18080' }], '53/udp': [{ HostIp: '::1', HostPort: '53' }] },
        AutoRemove: true,
        Mounts: [{ Type: 'volume', Source: 'v2', Target: '/m', ReadOnly: true }],
        RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      },
      NetworkingConfig: { EndpointsConfig: { default: { GwPriority: 0, DNSNames: null } } },
    } as never,
    'c1',
  );
  assert.equal(o.image, 'web:v1');
  assert.equal(o.name, 'c1');
  assert.deepEqual(o.command, []);
  assert.equal(o.network, 'bridge');
  assert.deepEqual(o.volumes, ['v1:/data']);
  assert.deepEqual(o.publish, ['18080:80/tcp', '[::1]:53:53/udp']);
  assert.deepEqual(o.mounts, ['type=volume,source=v2,target=/m,readonly']);
  assert.deepEqual(o.expose, ['80/tcp']);
  assert.equal(o.autoRemove, true);
  assert.equal(o.tty, true);
  assert.equal(o.attachStdin, true);
  assert.throws(() => createOptionsFromBody({}, undefined), /No image specified/);
  // A user network (its existence is the library's to check), with the endpoint of its key in EndpointsConfig.
  const onNet = createOptionsFromBody(
    {
      Image: 'x',
      HostConfig: { NetworkMode: 'mynet', Links: ['db:d'] },
      NetworkingConfig: {
        EndpointsConfig: {
          mynet: { Aliases: ['www'], Links: ['db:d', 'cache'], IPAMConfig: { IPv4Address: '10.1.2.3' } },
          other: { Aliases: ['o'] },
        },
      },
    },
    undefined,
  );
  assert.equal(onNet.network, 'mynet');
  assert.deepEqual(onNet.networkAliases, ['www']);
  assert.equal(onNet.ipv4Address, '10.1.2.3');
  assert.deepEqual(onNet.links, ['db:d', 'cache']);
  assert.throws(
    () =>
      createOptionsFromBody({ Image: 'x', NetworkingConfig: { EndpointsConfig: { n: { Aliases: 'a' } } } }, undefined),
    /cannot unmarshal string into Go struct field NetworkingConfig\.EndpointsConfig\["n"\]\.Aliases of type \[\]string/,
  );
});

test('EndpointsConfig: the endpoint of the network mode, and the others to connect after the create', () => {
  const body = {
    HostConfig: { NetworkMode: 'default' },
    NetworkingConfig: { EndpointsConfig: { default: { Aliases: null }, extra: { Aliases: ['x'] } } },
  };
  const mode = networkModeOf(body);
  assert.equal(mode, 'bridge');
  const { primary, others } = endpointsOf(body, mode);
  assert.deepEqual(primary, { Aliases: null });
  assert.deepEqual(others, [['extra', { Aliases: ['x'] }]]);
  assert.deepEqual(connectOptionsOf(others[0]![1]), { aliases: ['x'] });
});

test('listen addresses and wait conditions', () => {
  assert.deepEqual(parseListenUri('unix:///run/wharf/wharf.sock'), { kind: 'unix', path: '/run/wharf/wharf.sock' });
  assert.deepEqual(parseListenUri('tcp://127.0.0.1:2375'), { kind: 'tcp', host: '127.0.0.1', port: 2375 });
  assert.deepEqual(parseListenUri('tcp://[::1]:2375'), { kind: 'tcp', host: '::1', port: 2375 });
  assert.throws(() => parseListenUri('http://x'), /invalid listen address/);
  assert.equal(parseWaitCondition(null), 'not-running');
  assert.equal(parseWaitCondition('removed'), 'removed');
  assert.throws(() => parseWaitCondition('later'), /invalid condition/);
});

test("Go's FileMode bits for cp's path stat", async () => {
  const { goFileMode } = await import('../../../src/container/index.js');
  assert.equal(goFileMode({ mode: 0o040755 }), 2147484141); // the directory of the docker CLI's trace
  assert.equal(goFileMode({ mode: 0o100644 }), 0o644);
  assert.equal(goFileMode({ mode: 0o120777 }), (1 << 27) | 0o777);
  assert.equal(goFileMode({ mode: 0o104755 }), (1 << 23) | 0o755);
});

test('create body: a key of the wrong JSON type is a 400-class error naming it, as dockerd (found by test/fuzz)', () => {
  assert.throws(() => createOptionsFromBody({ Image: 'busybox', Env: 5 }, undefined), {
    code: 'INVALID_ARGUMENT',
    message: 'json: cannot unmarshal number into Go struct field Env of type []string',
  });
  assert.throws(
    () => createOptionsFromBody({ Image: 'busybox', HostConfig: { Binds: [{ Type: 'bind' }] } }, undefined),
    {
      message: /field HostConfig\.Binds of type \[\]string/,
    },
  );
  assert.throws(
    () => createOptionsFromBody({ Image: 'b', HostConfig: { PortBindings: { '80/tcp': 'x' } } }, undefined),
    {
      message: /HostConfig\.PortBindings\["80\/tcp"\]/,
    },
  );
  assert.throws(() => createOptionsFromBody([], undefined), { code: 'INVALID_ARGUMENT' });
  assert.deepEqual(createOptionsFromBody({ Image: 'busybox', Cmd: 'sh', Env: null }, undefined).command, ['sh']);
});
