import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkAddressingOnPredefinedNetwork,
  checkEndpointAddresses,
  checkLinksAllowed,
  linkEntry,
  parseLinkEntry,
  splitLink,
} from '../../../src/container/create-checks.js';
import { checkLink } from '../../../src/cli/commands/run-flags.js';
import { linkedHosts, linkEnv, withLinkEnv } from '../../../src/container/link-env.js';
import type { ContainerRecord } from '../../../src/container/types.js';

test('--ip/--ip6 at create: each of its own family, in dockerd 20.10 words', () => {
  checkEndpointAddresses({ IPv4Address: '10.0.0.2', IPv6Address: 'fd00::2' });
  assert.throws(() => checkEndpointAddresses({ IPv4Address: 'bad' }), /^WharfError: invalid IPv4 address: bad$/);
  assert.throws(() => checkEndpointAddresses({ IPv4Address: '::1' }), /^WharfError: invalid IPv4 address: ::1$/);
  assert.throws(() => checkEndpointAddresses({ IPv6Address: '1.2.3.4' }), /invalid IPv6 address: 1.2.3.4$/);
});

test('at start on bridge/host/none: a fixed address refused, link-local ones only parsed', () => {
  checkAddressingOnPredefinedNetwork({});
  checkAddressingOnPredefinedNetwork({ LinkLocalIPs: ['169.254.1.1', 'fe80::1'] });
  for (const a of [{ IPv4Address: '10.0.0.2' }, { IPv6Address: 'fd00::2' }])
    assert.throws(
      () => checkAddressingOnPredefinedNetwork(a),
      /^WharfError: user specified IP address is supported on user defined networks only$/,
    );
  assert.throws(
    () => checkAddressingOnPredefinedNetwork({ LinkLocalIPs: ['bad', '169.254.1.1', '0.0.0.0'] }),
    /^WharfError: Invalid link-local IP address: \[bad 0\.0\.0\.0\]$/,
  );
});

test('--link: the CLI format check, host networking refused, the HostConfig.Links entry both ways', () => {
  assert.equal(checkLink('db:alias'), 'db:alias');
  assert.throws(() => checkLink('a:b:c'), /^Error: bad format for links: a:b:c$/);
  assert.deepEqual(splitLink('db'), { name: 'db', alias: 'db' });
  assert.deepEqual(splitLink('db:x'), { name: 'db', alias: 'x' });
  checkLinksAllowed('bridge', ['db']);
  checkLinksAllowed('host', []);
  assert.throws(() => checkLinksAllowed('host', ['db']), /host type networking can't be used with links/);
  assert.equal(linkEntry('db', 'web', 'x'), '/db:/web/x');
  assert.deepEqual(parseLinkEntry('/db:/web/x'), { target: 'db', alias: 'x' });
});

test("linked containers' /etc/hosts lines, and dockerd's refusal of one that does not run", () => {
  const rec = { name: 'web', hostConfig: { Links: ['/db:/web/x', '/db:/web/db'] } } as unknown as ContainerRecord;
  const db = { name: 'db', hostname: 'abc123', running: true, ip: '172.17.0.2' };
  assert.deepEqual(
    linkedHosts(rec, () => db),
    ['172.17.0.2\tx abc123 db', '172.17.0.2\tdb abc123'],
  );
  assert.deepEqual(
    linkedHosts(rec, () => ({ ...db, ip: undefined })),
    [],
  );
  assert.throws(
    () => linkedHosts(rec, () => ({ ...db, running: false })),
    /^WharfError: Cannot link to a non running container: \/db AS \/web\/x$/,
  );
  assert.throws(() => linkedHosts(rec, () => undefined), /Cannot link to a non running container/);
});

test("a link's environment: default port the lowest (tcp first on a tie), ENV_ but HOME/PATH, the own vars win", () => {
  const vars = linkEnv({
    linkName: '/web/my-db',
    alias: 'my-db',
    ip: '10.0.0.2',
    ports: ['80/tcp', '53/udp', '53/tcp'],
    env: ['PATH=/bin', 'HOME=/root', 'FOO=bar'],
  });
  assert.equal(vars[0], 'MY_DB_PORT=tcp://10.0.0.2:53');
  assert.ok(vars.includes('MY_DB_PORT_53_UDP_PROTO=udp'));
  assert.ok(vars.includes('MY_DB_PORT_80_TCP_ADDR=10.0.0.2'));
  assert.deepEqual(vars.slice(-2), ['MY_DB_NAME=/web/my-db', 'MY_DB_ENV_FOO=bar']);
  assert.deepEqual(linkEnv({ linkName: '/web/a', alias: 'a', ports: ['80/tcp'], env: [] }), ['A_NAME=/web/a']);
  assert.deepEqual(withLinkEnv(['A_NAME=/w/a', 'B=1'], ['B=2', 'C=3']), ['A_NAME=/w/a', 'B=2', 'C=3']);
});
