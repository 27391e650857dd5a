import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRoute, listedPortMappings, parseRoute, proxyRoutes } from '../../src/network/port-proxy.js';
import { parsePublish } from '../../src/network/publish.js';

test('the IPv6 relay serves TCP and UDP ports published on every address (on ::) and on an IPv6 address', () => {
  const ports = [
    ...parsePublish('8080:80'),
    ...parsePublish('127.0.0.1:8081:81'),
    ...parsePublish('[::1]:8082:82'),
    ...parsePublish('8083:83/udp'),
  ].map((m) => ({ ...m }));
  const routes = proxyRoutes(ports, '10.89.0.5');
  assert.deepEqual(routes, [
    { protocol: 'tcp', hostIP: '::', hostPort: 8080, targetIP: '10.89.0.5', targetPort: 80 },
    { protocol: 'tcp', hostIP: '::1', hostPort: 8082, targetIP: '10.89.0.5', targetPort: 82 },
    { protocol: 'udp', hostIP: '::', hostPort: 8083, targetIP: '10.89.0.5', targetPort: 83 },
  ]);
  assert.deepEqual(proxyRoutes(ports, undefined), [], 'no container address (host network): nothing to relay');
  for (const r of routes) assert.deepEqual(parseRoute(formatRoute(r)), r);
  assert.equal(formatRoute(routes[0]!), 'tcp:[::]:8080=10.89.0.5:80');
  assert.equal(formatRoute(routes[2]!), 'udp:[::]:8083=10.89.0.5:83');
  assert.throws(() => parseRoute('[1.2.3.4]:80=10.0.0.1:80'), /invalid proxy route/);
  assert.throws(() => parseRoute('8080=10.0.0.1:80'), /invalid proxy route/);
});

test('listedPortMappings: each mapping the relay serves is listed again on ::, right after it, only while a relay runs', () => {
  const ports = [
    { hostIP: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' as const },
    { hostIP: '127.0.0.1', hostPort: 8081, containerPort: 81, protocol: 'tcp' as const },
    { hostIP: '0.0.0.0', hostPort: 5353, containerPort: 53, protocol: 'udp' as const },
    { hostIP: '', hostPort: 9000, containerPort: 9000, protocol: 'sctp' as const },
  ];
  assert.deepEqual(listedPortMappings(ports, undefined), ports);
  assert.deepEqual(listedPortMappings(ports, 4242), [
    ports[0],
    { ...ports[0], hostIP: '::' },
    ports[1],
    ports[2],
    { ...ports[2], hostIP: '::' },
    ports[3],
  ]);
});
