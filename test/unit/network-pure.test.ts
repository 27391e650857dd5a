import { test } from 'node:test';
import assert from 'node:assert/strict';
import { is } from '../../src/errors/index.js';
import {
  bridgeConflist,
  DEFAULT_GATEWAY,
  exposedPortMappings,
  formatPortMapping,
  hostsFileContent,
  parseAddHost,
  parsePortmapRules,
  parsePublish,
  resolvConfContent,
} from '../../src/network/index.js';

test('parsePublish accepts Docker -p forms', () => {
  const cases: Array<[string, object[]]> = [
    ['80', [{ hostIP: '', hostPort: 0, containerPort: 80, protocol: 'tcp' }]],
    ['8080:80', [{ hostIP: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    ['127.0.0.1:8080:80', [{ hostIP: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    ['127.0.0.1::80/udp', [{ hostIP: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'udp' }]],
    ['[::1]:8080:80', [{ hostIP: '::1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    ['53/UDP', [{ hostIP: '', hostPort: 0, containerPort: 53, protocol: 'udp' }]],
    ['9000/sctp', [{ hostIP: '', hostPort: 0, containerPort: 9000, protocol: 'sctp' }]],
    [
      '8000-8001:80-81',
      [
        { hostIP: '', hostPort: 8000, containerPort: 80, protocol: 'tcp' },
        { hostIP: '', hostPort: 8001, containerPort: 81, protocol: 'tcp' },
      ],
    ],
    [
      '7000-7001',
      [
        { hostIP: '', hostPort: 0, containerPort: 7000, protocol: 'tcp' },
        { hostIP: '', hostPort: 0, containerPort: 7001, protocol: 'tcp' },
      ],
    ],
    ['8000-8010:80', [{ hostIP: '', hostPort: 8000, hostPortEnd: 8010, containerPort: 80, protocol: 'tcp' }]],
    ['0.0.0.0:1:65535', [{ hostIP: '0.0.0.0', hostPort: 1, containerPort: 65535, protocol: 'tcp' }]],
  ];
  for (const [spec, want] of cases) assert.deepEqual(parsePublish(spec), want, spec);
});

test('parsePublish rejects bad specs with a clear message', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['abc', /invalid container port "abc"/],
    ['80/icmp', /invalid protocol "icmp"/],
    ['8080:', /no container port/],
    ['0', /container port 0 is out of range/],
    ['70000', /out of range/],
    ['x:80', /invalid host port "x"/],
    ['300.1.1.1:80:80', /invalid IP address "300.1.1.1"/],
    ['[::1:80:80', /unterminated IPv6/],
    ['1:2:3:4', /too many colons/],
    ['8000-8002:80-81', /differ in length/],
    ['81-80', /ends before it starts/],
  ];
  for (const [spec, re] of cases) {
    assert.throws(
      () => parsePublish(spec),
      (e: unknown) => is(e, 'INVALID_ARGUMENT') && re.test((e as Error).message),
      spec,
    );
  }
});

test('exposed ports become random mappings; mappings format like docker port', () => {
  assert.deepEqual(exposedPortMappings({ '80/tcp': {}, '53/udp': {} }), [
    { hostIP: '', hostPort: 0, containerPort: 80, protocol: 'tcp' },
    { hostIP: '', hostPort: 0, containerPort: 53, protocol: 'udp' },
  ]);
  assert.deepEqual(exposedPortMappings(null), []);
  assert.equal(
    formatPortMapping({ hostIP: '', hostPort: 3, containerPort: 80, protocol: 'tcp' }),
    '80/tcp -> 0.0.0.0:3',
  );
  assert.equal(
    formatPortMapping({ hostIP: '::1', hostPort: 3, containerPort: 80, protocol: 'udp' }),
    '80/udp -> [::1]:3',
  );
});

test('/etc/hosts like Docker', () => {
  assert.equal(
    hostsFileContent({
      hostname: 'web',
      ip: '10.89.0.5',
      extraHosts: [parseAddHost('db:10.0.0.9'), parseAddHost('gw:host-gateway', '10.89.0.1')],
    }),
    '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\n' +
      'ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n10.0.0.9\tdb\n10.89.0.1\tgw\n10.89.0.5\tweb\n',
  );
  assert.doesNotMatch(hostsFileContent({ hostname: 'web' }), /web/);
  assert.match(
    hostsFileContent({ hostname: 'web', ip: '1.2.3.4', domainname: 'example.org' }),
    /1\.2\.3\.4\tweb\.example\.org web\n$/,
  );
  assert.deepEqual(parseAddHost('v6=[::1]'), { name: 'v6', ip: '::1' });
  for (const bad of ['nocolon', 'db:notanip', 'gw:host-gateway', 'bad name:1.2.3.4']) {
    assert.throws(
      () => parseAddHost(bad),
      (e: unknown) => is(e, 'INVALID_ARGUMENT'),
      bad,
    );
  }
});

test('resolv.conf drops loopback resolvers like Docker', () => {
  const host =
    '# generated\nnameserver 127.0.0.53\nnameserver 10.1.1.1\nnameserver ::1\nsearch corp.example\noptions edns0 trust-ad\n';
  assert.equal(resolvConfContent(host), 'search corp.example\nnameserver 10.1.1.1\noptions edns0 trust-ad\n');
  assert.equal(resolvConfContent('nameserver 127.0.0.53\n'), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  assert.equal(resolvConfContent(host, { hostNetwork: true }), host);
  assert.equal(
    resolvConfContent(host, { dns: ['9.9.9.9'], dnsSearch: ['a.b'], dnsOptions: ['ndots:2'] }),
    'search a.b\nnameserver 9.9.9.9\noptions ndots:2\n',
  );
  assert.throws(
    () => resolvConfContent(host, { dns: ['nope'] }),
    (e: unknown) => is(e, 'INVALID_ARGUMENT'),
  );
});

test('portmap DNAT rules are read back as published ports', () => {
  const rules = [
    '-N CNI-DN-0a1b2c',
    '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"wharf\\" id: \\"x\\"" -m multiport --dports 8080 -j CNI-DN-0a1b2c',
    '-A CNI-DN-0a1b2c -s 10.89.0.0/24 -d 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK',
    '-A CNI-DN-0a1b2c -d 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.89.0.2:80',
    '-A CNI-DN-ffff -p udp -m udp --dport 5353 -j DNAT --to-destination 10.89.0.3:53',
  ].join('\n');
  assert.deepEqual(parsePortmapRules(rules), [
    { hostIP: '127.0.0.1', hostPort: 8080, protocol: 'tcp' },
    { hostIP: '', hostPort: 5353, protocol: 'udp' },
  ]);
});

test('the bridge conflist chains bridge, portmap and firewall as podman does', () => {
  const c = bridgeConflist({ subnet: '10.99.0.0/24', ipamDataDir: '/tmp/ipam' });
  assert.equal(c.cniVersion, '1.0.0');
  assert.deepEqual(
    c.plugins.map((p) => p.type),
    ['bridge', 'portmap', 'firewall'],
  );
  assert.equal(c.plugins[0]!.bridge, 'wharf0');
  assert.equal(c.plugins[0]!.isGateway, true);
  assert.equal(c.plugins[0]!.ipMasq, true);
  assert.deepEqual((c.plugins[0]!.ipam as { ranges: unknown }).ranges, [[{ subnet: '10.99.0.0/24' }]]);
  assert.equal((c.plugins[0]!.ipam as { dataDir: string }).dataDir, '/tmp/ipam');
  assert.deepEqual(c.plugins[1], { type: 'portmap', capabilities: { portMappings: true }, snat: true });
});

test('DEFAULT_GATEWAY is the first address of the default bridge subnet (what host-local gives the bridge)', () => {
  const ipam = bridgeConflist().plugins[0]!.ipam as { ranges: Array<Array<{ subnet: string }>> };
  const [net, bits] = ipam.ranges[0]![0]!.subnet.split('/');
  assert.equal(bits, '24');
  const octets = net!.split('.').map(Number);
  assert.equal(DEFAULT_GATEWAY, [...octets.slice(0, 3), octets[3]! + 1].join('.'));
});
