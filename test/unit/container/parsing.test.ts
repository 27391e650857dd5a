import { test } from 'node:test';
import assert from 'node:assert/strict';
import { is } from '../../../src/errors/index.js';
import {
  commandText,
  normalizeSignal,
  parseBytes,
  parseMountFlag,
  parseVolumeFlag,
  portsText,
  randomName,
  splitCpArg,
  statusText,
  validateName,
  type ObservedContainer,
} from '../../../src/container/index.js';
import { parseTimeArg } from '../../../src/cli/commands/container-shared.js';

test('-v: bind mounts, named and anonymous volumes, modes', () => {
  assert.deepEqual(parseVolumeFlag('/host:/ctr'), {
    kind: 'bind',
    source: '/host',
    destination: '/ctr',
    readOnly: false,
    createSource: true,
    mode: '',
  });
  assert.deepEqual(parseVolumeFlag('/host/:/ctr/x/:ro'), {
    kind: 'bind',
    source: '/host/',
    destination: '/ctr/x/',
    readOnly: true,
    createSource: true,
    mode: 'ro',
  });
  assert.deepEqual(parseVolumeFlag('data:/var/lib/data'), {
    kind: 'volume',
    name: 'data',
    destination: '/var/lib/data',
    readOnly: false,
    noCopy: false,
    mode: '',
  });
  assert.deepEqual(parseVolumeFlag('/anon'), {
    kind: 'volume',
    destination: '/anon',
    readOnly: false,
    noCopy: false,
    mode: '',
  });
  assert.deepEqual(parseVolumeFlag('/anon:ro'), {
    kind: 'volume',
    destination: '/anon',
    readOnly: true,
    noCopy: false,
    mode: 'ro',
  });
  const rshared = parseVolumeFlag('/a:/b:ro,rshared');
  assert.equal(rshared.kind === 'bind' && rshared.propagation, 'rshared');
});

test('-v: bad specs are one clear INVALID_ARGUMENT', () => {
  for (const [spec, msg] of [
    ['/tmp:relative', /mount path must be absolute/],
    ['vol:rel', /mount path must be absolute/],
    ['rel/dir:/x', /If you intended to pass a host directory, use absolute path/],
    ['/a:/b:bogus', /invalid mode: bogus/],
    ['/a:/', /destination can't be '\/'/],
    ['', /invalid volume specification/],
    ['a:b:c:d', /invalid volume specification/],
  ] as const) {
    assert.throws(
      () => parseVolumeFlag(spec),
      (err: unknown) => is(err, 'INVALID_ARGUMENT') && msg.test(err.message),
      spec,
    );
  }
});

test('--mount: bind, volume, tmpfs', () => {
  assert.deepEqual(parseMountFlag('type=bind,source=/h,target=/c,readonly'), {
    kind: 'bind',
    source: '/h',
    destination: '/c',
    readOnly: true,
    createSource: false,
    mode: '',
  });
  assert.deepEqual(parseMountFlag('type=volume,src=vol,dst=/d'), {
    kind: 'volume',
    name: 'vol',
    destination: '/d',
    readOnly: false,
    noCopy: false,
    mode: '',
  });
  assert.deepEqual(parseMountFlag('target=/anon'), {
    kind: 'volume',
    destination: '/anon',
    readOnly: false,
    noCopy: false,
    mode: '',
  });
  assert.deepEqual(parseMountFlag('type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1777'), {
    kind: 'tmpfs',
    destination: '/t',
    size: 1024 * 1024,
    mode: 0o1777,
  });
  assert.throws(() => parseMountFlag('type=bind,target=/c'), /field Source must not be empty/);
  assert.throws(() => parseMountFlag('type=nfs,target=/c'), /not supported/);
  assert.throws(() => parseMountFlag('type=volume,source=v'), /target is required/);
});

test('sizes, signals, names', () => {
  assert.equal(parseBytes('512m'), 512 * 1024 * 1024);
  assert.equal(parseBytes('1g'), 1024 ** 3);
  assert.equal(parseBytes('100'), 100);
  assert.throws(() => parseBytes('lots'), /invalid size/);
  assert.equal(normalizeSignal('kill'), 'SIGKILL');
  assert.equal(normalizeSignal('SIGUSR1'), 'SIGUSR1');
  assert.equal(normalizeSignal('9'), '9');
  assert.throws(() => normalizeSignal('no such!'), /Invalid signal: no such!/);
  // moby's ParseSignal: names of its Linux table only, and no signal 0.
  assert.throws(() => normalizeSignal('BOGUS'), /Invalid signal: BOGUS/);
  assert.throws(() => normalizeSignal('0'), /Invalid signal: 0/);
  assert.equal(normalizeSignal('rtmin+3'), 'SIGRTMIN+3');
  assert.equal(normalizeSignal('SIGRTMAX-1'), 'SIGRTMAX-1');
  assert.equal(normalizeSignal('usr1'), 'SIGUSR1');
  assert.equal(validateName('/web'), 'web');
  assert.throws(() => validateName('-bad'), /Invalid container name/);
  const n = randomName(() => false);
  assert.match(n, /^[a-z]+_[a-z]+$/);
  const taken = new Set<string>();
  for (let i = 0; i < 50; i++) taken.add(randomName((x) => taken.has(x)));
  assert.equal(taken.size, 50, 'never a taken name');
});

test('cp arguments: container:path unless it looks local', () => {
  assert.deepEqual(splitCpArg('web:/etc/passwd'), { container: 'web', path: '/etc/passwd' });
  assert.deepEqual(splitCpArg('/tmp/a:b'), { path: '/tmp/a:b' });
  assert.deepEqual(splitCpArg('./x:y'), { path: './x:y' });
  assert.deepEqual(splitCpArg('-'), { path: '-' });
  assert.deepEqual(splitCpArg('file'), { path: 'file' });
});

test('--since: RFC 3339, Unix seconds, durations', () => {
  const now = Date.parse('2024-01-01T12:00:00Z');
  assert.equal(parseTimeArg('10m', now).toISOString(), '2024-01-01T11:50:00.000Z');
  assert.equal(parseTimeArg('1h30m', now).toISOString(), '2024-01-01T10:30:00.000Z');
  assert.equal(parseTimeArg('1700000000', now).toISOString(), '2023-11-14T22:13:20.000Z');
  assert.equal(parseTimeArg('2024-01-01T00:00:00Z', now).toISOString(), '2024-01-01T00:00:00.000Z');
  assert.throws(() => parseTimeArg('yesterday', now), /failed to parse value as time or duration: "yesterday"/);
});

function observed(over: Partial<ObservedContainer>): ObservedContainer {
  return {
    id: 'a'.repeat(64),
    name: 'x',
    imageId: 'sha256:' as never,
    imageName: 'busybox',
    created: '2024-01-01T00:00:00Z',
    config: {},
    hostConfig: { NetworkMode: 'bridge' } as never,
    path: 'sh',
    args: ['-c', 'echo hello world and more'],
    mounts: [],
    state: { status: 'running', exitCode: 0, startedAt: '2024-01-01T11:57:00Z' },
    restartCount: 0,
    status: 'running',
    running: true,
    ...over,
  };
}

test('ps columns in Docker form', () => {
  const now = new Date('2024-01-01T12:00:00Z');
  assert.equal(statusText(observed({}), now), 'Up 3 minutes');
  assert.equal(statusText(observed({ status: 'paused' }), now), 'Up 3 minutes (Paused)');
  assert.equal(
    statusText(
      observed({
        running: false,
        status: 'exited',
        state: { status: 'exited', exitCode: 130, finishedAt: '2024-01-01T11:59:55Z' },
      }),
      now,
    ),
    'Exited (130) 5 seconds ago',
  );
  assert.equal(
    statusText(observed({ running: false, status: 'created', state: { status: 'created', exitCode: 0 } }), now),
    'Created',
  );
  // As dockerd lists it: an argument with a space in single quotes.
  assert.equal(commandText(observed({}), true), `"sh -c 'echo hello w…"`);
  assert.equal(commandText(observed({}), false), `"sh -c 'echo hello world and more'"`);
  const withPorts = observed({
    config: { ExposedPorts: { '80/tcp': {}, '443/tcp': {} } },
    network: { ports: [{ hostIP: '', hostPort: 18080, containerPort: 80, protocol: 'tcp' }] } as never,
  });
  // The docker CLI's order: grouped ports (bare ones and ones published on the same port) first, then the others.
  assert.equal(portsText(withPorts), '443/tcp, 0.0.0.0:18080->80/tcp');
  // dockerd lists none for a stopped container (releaseNetwork clears them) or on `--network none|host`.
  assert.equal(portsText({ ...withPorts, running: false }), '');
  assert.equal(portsText({ ...withPorts, hostConfig: { NetworkMode: 'none' } as never }), '');
  const many = observed({
    config: { ExposedPorts: { '9000/tcp': {}, '9001/tcp': {}, '53/udp': {} } },
    network: {
      ports: [
        { hostIP: '', hostPort: 8443, containerPort: 443, protocol: 'tcp' },
        { hostIP: '', hostPort: 20001, containerPort: 20001, protocol: 'tcp' },
        { hostIP: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
        { hostIP: '', hostPort: 20000, containerPort: 20000, protocol: 'tcp' },
        { hostIP: '::', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      ],
    } as never,
  });
  assert.equal(
    portsText(many),
    '53/udp, 9000-9001/tcp, 0.0.0.0:20000-20001->20000-20001/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, 0.0.0.0:8443->443/tcp',
  );
});
