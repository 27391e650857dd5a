import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aardvarkConfig,
  allocateSubnet,
  chainsFor,
  cidrOverlaps,
  DEFAULT_POOLS,
  endpointAddressing,
  firewallBatch,
  firstFreeAddress,
  formatCidr,
  formatIp,
  parseCidr,
  parseIp,
  parseProcRoutes,
  NetworkRecords,
  parseAddressPools,
  presentRules,
  type NetworkRecord,
} from '../../../src/network/index.js';
import { MetaDb } from '../../../src/meta/index.js';

test('IP addresses of both families parse and print back in their canonical form', () => {
  for (const ip of ['10.1.2.3', '0.0.0.0', '255.255.255.255', 'fd00::1', '::', '::1', '2001:db8::1:0:0:1', 'fe80::1']) {
    const p = parseIp(ip);
    assert.equal(formatIp(p.family, p.value), ip);
  }
  assert.equal(formatIp(6, parseIp('2001:0db8:0000:0000:0000:0000:0000:0001').value), '2001:db8::1');
  assert.throws(() => parseIp('10.1.2'), /invalid IP address/);
});

test('CIDRs: host bits are cleared, or refused when strict; overlap in either direction', () => {
  assert.equal(formatCidr(parseCidr('10.1.2.3/16')), '10.1.0.0/16');
  assert.throws(() => parseCidr('10.1.2.3/16', true), /it should be 10\.1\.0\.0\/16/);
  assert.throws(() => parseCidr('10.1.0.0/33'), /invalid CIDR/);
  assert.ok(cidrOverlaps(parseCidr('10.0.0.0/8'), parseCidr('10.89.0.0/24')));
  assert.ok(!cidrOverlaps(parseCidr('10.0.0.0/16'), parseCidr('10.1.0.0/16')));
  assert.ok(!cidrOverlaps(parseCidr('fd00::/64'), parseCidr('10.0.0.0/8')));
});

test("subnets come from dockerd's default pools in order, skipping what is taken", () => {
  assert.equal(formatCidr(allocateSubnet(DEFAULT_POOLS, [])), '172.17.0.0/16');
  const taken = [parseCidr('172.17.0.0/16'), parseCidr('172.18.5.0/24')];
  assert.equal(formatCidr(allocateSubnet(DEFAULT_POOLS, taken)), '172.19.0.0/16');
  const pools = [{ base: '192.168.0.0/16', size: 20 }];
  assert.equal(formatCidr(allocateSubnet(pools, [parseCidr('192.168.0.0/20')])), '192.168.16.0/20');
  assert.throws(
    () => allocateSubnet([{ base: '10.0.0.0/24', size: 24 }], [parseCidr('10.0.0.0/8')]),
    /fully subnetted/,
  );
});

test('the first free address skips the network address, the broadcast and what is used, within the range', () => {
  const s = parseCidr('10.5.0.0/29');
  assert.equal(firstFreeAddress(s, new Set(['10.5.0.1'])), '10.5.0.2');
  assert.equal(firstFreeAddress(s, new Set(['10.5.0.1']), parseCidr('10.5.0.4/30')), '10.5.0.4');
  const all = new Set(['10.5.0.1', '10.5.0.2', '10.5.0.3', '10.5.0.4', '10.5.0.5', '10.5.0.6']);
  assert.throws(() => firstFreeAddress(s, all), /no available IPv4 addresses/);
  assert.equal(firstFreeAddress(parseCidr('fd01::/64'), new Set(['fd01::1'])), 'fd01::2');
});

test("the host's routes from /proc: IPv4 in host byte order, IPv6 without link-local, multicast and host routes", () => {
  const v4 = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    'wharf0\t0000590A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
  ].join('\n');
  const v6 = [
    'fd123456789a00000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 br-x',
    'fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0',
    '00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000001 00000000 00200001 lo',
  ].join('\n');
  const routes = parseProcRoutes(v4, v6);
  assert.deepEqual(
    routes.map((r) => `${formatCidr(r)} ${r.dev}`),
    ['10.89.0.0/24 wharf0', 'fd12:3456:789a::/64 br-x'],
  );
});

const net = (over: Partial<NetworkRecord> = {}): NetworkRecord => ({
  id: 'a'.repeat(64),
  name: 'n1',
  created: '2026-01-01T00:00:00Z',
  driver: 'bridge',
  bridge: 'br-aaaaaaaaaaaa',
  ipv4: { subnet: '172.18.0.0/16', gateway: '172.18.0.1' },
  internal: false,
  attachable: false,
  labels: {},
  options: {},
  ...over,
});

test('firewall: isolation in two stages, masquerade out of non-internal networks, internal ones cut off', () => {
  const chains = chainsFor('/var/lib/wharf');
  assert.match(chains.forward, /^WHARF-FWD-[0-9a-f]{8}$/);
  const none = { forwardJump: false, natJump: false, chains: new Set<string>() };
  const text = firewallBatch(
    4,
    chains,
    [
      { bridge: 'br-a', subnet4: '172.18.0.0/16', internal: false },
      { bridge: 'br-b', subnet4: '172.19.0.0/16', internal: true },
    ],
    'wharf0',
    none,
  );
  const lines = text.split('\n');
  assert.ok(lines.includes(`-I FORWARD 1 -j ${chains.forward}`));
  assert.ok(lines.includes(`-A ${chains.iso1} -i br-a ! -o br-a -j ${chains.iso2}`));
  assert.ok(lines.includes(`-A ${chains.iso2} -o br-a -j DROP`));
  assert.ok(lines.includes(`-A ${chains.iso1} -i br-b ! -o br-b -j DROP`));
  assert.ok(lines.includes(`-A ${chains.iso2} -o wharf0 -j DROP`));
  assert.ok(lines.includes(`-A ${chains.postrouting} -s 172.18.0.0/16 ! -o br-a -j MASQUERADE`));
  assert.ok(!lines.some((l) => l.includes('172.19.0.0/16')), 'no masquerade for an internal network');
  // The last network gone: the jumps, then the chains (declared, so flushed, before they are deleted).
  const present = presentRules(
    [`:${chains.forward} - [0:0]`, `:${chains.iso1} - [0:0]`, `-A FORWARD -j ${chains.forward}`].join('\n'),
    chains,
  );
  const gone = firewallBatch(4, chains, [], undefined, present).split('\n');
  assert.deepEqual(gone.slice(0, 6), [
    '*filter',
    `-D FORWARD -j ${chains.forward}`,
    `:${chains.forward} - [0:0]`,
    `:${chains.iso1} - [0:0]`,
    `-X ${chains.forward}`,
    `-X ${chains.iso1}`,
  ]);
});

test("an endpoint's addressing: the bridge's gateways, the container's addresses, default routes only off an internal network", () => {
  const n = net({ ipv6: { subnet: 'fd00:1::/64', gateway: 'fd00:1::1' } });
  const ep = {
    networkId: n.id,
    containerId: 'c'.repeat(64),
    names: ['x'],
    aliases: [],
    ip4: '172.18.0.2',
    ip6: 'fd00:1::2',
  };
  assert.deepEqual(endpointAddressing(n, ep), {
    bridgeAddresses: ['172.18.0.1/16', 'fd00:1::1/64'],
    addresses: ['172.18.0.2/16', 'fd00:1::2/64'],
    gateways: ['172.18.0.1', 'fd00:1::1'],
  });
  // An internal network has no route out.
  assert.deepEqual(endpointAddressing(net({ internal: true }), ep).gateways, []);
});

test("aardvark-dns's file: listening addresses, then one line per container with its names and aliases", () => {
  const n = net({ ipv6: { subnet: 'fd00:1::/64', gateway: 'fd00:1::1' } });
  const text = aardvarkConfig(n, [
    {
      networkId: n.id,
      containerId: 'c'.repeat(64),
      names: ['web', 'cccccccccccc'],
      aliases: ['www', 'web'],
      ip4: '172.18.0.2',
      ip6: 'fd00:1::2',
    },
  ]);
  assert.equal(text, `172.18.0.1,fd00:1::1\n${'c'.repeat(64)} 172.18.0.2 fd00:1::2 web,cccccccccccc,www\n`);
});

test('endpoint records: addresses taken in order, a fixed one checked, released with the endpoint', () => {
  const db = new MetaDb(':memory:');
  const records = new NetworkRecords(db);
  const n = net({ ipv4: { subnet: '10.7.0.0/29', gateway: '10.7.0.1' } });
  records.insert(n);
  const add = (id: string, ip4?: string) =>
    records.addEndpoint(n, { containerId: id, names: [id], aliases: [], ...(ip4 ? { ip4 } : {}) });
  assert.equal(add('a').ip4, '10.7.0.2');
  assert.equal(add('b', '10.7.0.5').ip4, '10.7.0.5');
  assert.equal(add('c').ip4, '10.7.0.3');
  assert.throws(() => add('d', '10.7.0.5'), /Address already in use/);
  assert.throws(() => add('e', '10.8.0.5'), /no configured subnet contains IP address 10\.8\.0\.5/);
  assert.throws(() => add('a'), /already exists in network n1/);
  records.removeEndpoint(n.id, 'a');
  assert.equal(add('f').ip4, '10.7.0.2');
  assert.throws(() => records.insert({ ...n, id: 'b'.repeat(64) }), /network with name n1 already exists/);
  db.close();
});

test("address pools in dockerd's --default-address-pool form, IPv4 and IPv6 apart", () => {
  assert.deepEqual(parseAddressPools('base=10.10.0.0/16,size=24 base=fd77::/48,size=64;base=10.20.0.0/16,size=20'), {
    ipv4: [
      { base: '10.10.0.0/16', size: 24 },
      { base: '10.20.0.0/16', size: 20 },
    ],
    ipv6: [{ base: 'fd77::/48', size: 64 }],
  });
  assert.throws(() => parseAddressPools('base=10.10.0.0/16'), /want base=CIDR,size=N/);
  assert.throws(() => parseAddressPools('base=10.10.0.0/16,size=8'), /size 8 does not fit/);
});
