/**
 * The IPv6 relay of published ports (network/port-proxy.ts) on loopback: TCP with a half-closing client and UDP, from
 * [::1] to a server on 127.0.0.1 standing in for the container. The container-level test is in
 * test/integration/container/attach-logging.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { servePortProxy } from '../../../src/network/port-proxy.js';

const freeTcp = async (host: string): Promise<number> => {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, host, r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
};

test('TCP and UDP on [::1] reach an IPv4 server; a port that cannot be bound is reported, not fatal', async () => {
  // The "container": a TCP server that answers once the client finished sending, and a UDP echo server.
  const tcp = net.createServer({ allowHalfOpen: true }, (s) => {
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('end', () => s.end(`echo:${got}`));
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const udp = dgram.createSocket('udp4');
  udp.on('message', (m, from) => udp.send(Buffer.concat([Buffer.from('echo:'), m]), from.port, from.address));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  const tcpPort = await freeTcp('::1');
  const udpPort = await freeTcp('::1');
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen({ host: '::1', port: 0, ipv6Only: true }, r));
  const takenPort = (taken.address() as net.AddressInfo).port;
  try {
    const { failed, close } = await servePortProxy([
      {
        protocol: 'tcp',
        hostIP: '::1',
        hostPort: tcpPort,
        targetIP: '127.0.0.1',
        targetPort: (tcp.address() as net.AddressInfo).port,
      },
      { protocol: 'udp', hostIP: '::1', hostPort: udpPort, targetIP: '127.0.0.1', targetPort: udp.address().port },
      { protocol: 'tcp', hostIP: '::1', hostPort: takenPort, targetIP: '127.0.0.1', targetPort: 1 },
    ]);
    assert.equal(failed.length, 1);
    assert.match(failed[0]!, new RegExp(`tcp \\[::1\\]:${takenPort}: .*EADDRINUSE`));

    const reply = await new Promise<string>((resolve, reject) => {
      const c = net.connect({ host: '::1', port: tcpPort }, () => c.end('hello'));
      let data = '';
      c.on('data', (d) => (data += d.toString()));
      c.on('end', () => resolve(data));
      c.on('error', reject);
    });
    assert.equal(reply, 'echo:hello', 'the answer comes after the client shut down its side');

    const client = dgram.createSocket('udp6');
    try {
      const answer = await new Promise<string>((resolve) => {
        client.on('message', (m) => resolve(m.toString()));
        client.send('ping', udpPort, '::1');
      });
      assert.equal(answer, 'echo:ping');
    } finally {
      client.close();
    }
    close();
  } finally {
    tcp.close();
    udp.close();
    taken.close();
  }
});
