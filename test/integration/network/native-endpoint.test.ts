/**
 * native-endpoint.ts: a container interface on a bridge over netlink, and published ports as one iptables-restore
 * batch, reached from 127.0.0.1 and by the container itself (hairpin); removal leaves the rules as they were. Every
 * name (namespace, bridge, subnet, container ID) is unique to this run and only those are removed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  attachEndpoint,
  detachEndpoint,
  ensureBridge,
  hostIfNameFor,
  publishPorts,
  unpublishPorts,
} from '../../../src/network/native-endpoint.js';
import { linkDel, linkGet, netnsCreate, netnsDelete } from '../../../src/network/netlink.js';
import type { PortMapping } from '../../../src/network/publish.js';
import { run } from '../../../src/util/index.js';
import { freeSubnet24, ipJson, uniqueSuffix } from '../../helpers/net-names.js';

const sfx = uniqueSuffix();
const ID = `nativeendpointtest${sfx}`;
const NS = `wharf-netest-${sfx}`;
const BR = `wnebr${sfx}`;
const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse())
    await Promise.resolve()
      .then(c)
      .catch(() => {});
});

function get(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/index.html', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

async function freeHostPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ host: '0.0.0.0', port: 0 }, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The nat and filter rule lines that concern this test: its chains, its container, its address, its bridge. */
async function ourRules(ip: string): Promise<string[]> {
  const out = (await run('iptables-save', [])).stdout.split('\n');
  return out.filter(
    (l) =>
      l.startsWith('-A ') &&
      (l.includes('WHARF-HOSTPORTS') || l.includes(ID) || l.includes(`${ip}/`) || l.includes(BR)),
  );
}

test('attach, publish, reach from 127.0.0.1 and from itself, unpublish and detach leave nothing', async () => {
  const base = await freeSubnet24();
  const ip = `${base}.9`;
  ensureBridge({ name: BR, addresses: [`${base}.1/24`] });
  cleanups.push(() => linkDel(BR));
  assert.equal(ensureBridge({ name: BR, addresses: [`${base}.1/24`] }), false, 'idempotent');
  const nsPath = netnsCreate(NS);
  cleanups.push(() => netnsDelete(nsPath));

  const ep = attachEndpoint({
    containerId: ID,
    netnsPath: nsPath,
    ifName: 'eth0',
    bridge: BR,
    addresses: [`${ip}/24`],
    gateways: [`${base}.1`],
    hairpin: true,
  });
  cleanups.push(() => detachEndpoint({ containerId: ID, ifName: 'eth0', netnsPath: nsPath }));
  assert.equal(ep.hostIfName, hostIfNameFor(ID, 'eth0'));
  assert.equal(ep.hostIndex, linkGet(ep.hostIfName)?.index, 'the index the monitor deletes the pair by');
  assert.match(ep.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  const [link] = await ipJson<Array<{ address: string }>>(['link', 'show', 'dev', 'eth0'], NS);
  assert.equal(link!.address, ep.mac);

  // A web server in the namespace.
  const www = mkdtempSync(path.join(os.tmpdir(), 'wharf-netest-'));
  cleanups.push(() => rmSync(www, { recursive: true, force: true }));
  writeFileSync(path.join(www, 'index.html'), `hello ${sfx}\n`);
  const httpd = spawn('ip', ['netns', 'exec', NS, 'busybox', 'httpd', '-f', '-p', '80', '-h', www], {
    stdio: 'ignore',
  });
  cleanups.push(() => httpd.kill('SIGKILL'));
  for (let i = 0; i < 50; i++) {
    const probe = await run('ip', ['netns', 'exec', NS, 'busybox', 'nc', '-z', '127.0.0.1', '80'], { check: false });
    if (probe.code === 0) break;
    await sleep(100);
  }

  // The chains exist from here on (made once, like portmap's): warm them with a throwaway container's rules.
  const warm = { containerId: `${ID}w`, containerIP: `${base}.250`, bridge: BR, ports: [] as PortMapping[] };
  const hostPort = await freeHostPort();
  cleanups.push(() => unpublishPorts({ ...warm, ports: undefined }));
  await publishPorts({ ...warm, ports: [{ hostIP: '', hostPort, containerPort: 1, protocol: 'tcp' }] });
  await unpublishPorts({ ...warm, ports: undefined }); // without the mappings: found by their comment
  assert.equal((await run('iptables-save', ['-t', 'nat'])).stdout.includes(warm.containerId), false);
  const before = await ourRules(ip);

  const ports: PortMapping[] = [{ hostIP: '', hostPort, containerPort: 80, protocol: 'tcp' }];
  cleanups.push(() => unpublishPorts({ containerId: ID, containerIP: ip, ports }));
  await publishPorts({ containerId: ID, containerIP: ip, bridge: BR, ports });
  const published = await ourRules(ip);
  assert.ok(
    published.some((l) => l.includes('-j DNAT') && l.includes(`${ip}:80`)),
    published.join('\n'),
  );

  assert.equal(await get('127.0.0.1', hostPort), `hello ${sfx}\n`, '127.0.0.1 reaches the published port');
  // curl from inside the namespace (the static busybox wget crashes on this machine; busybox nc lingers -w seconds).
  const hairpin = await run(
    'ip',
    ['netns', 'exec', NS, 'curl', '-s', '-m', '5', `http://${base}.1:${hostPort}/index.html`],
    { check: false },
  );
  assert.ok(hairpin.stdout.endsWith(`hello ${sfx}\n`), `the container reaches itself: ${hairpin.stderr}`);

  await unpublishPorts({ containerId: ID, containerIP: ip, ports });
  assert.deepEqual(await ourRules(ip), before, 'the rules are as they were');
  await unpublishPorts({ containerId: ID, containerIP: ip, ports }); // idempotent
  await assert.rejects(get('127.0.0.1', hostPort), 'nothing answers there any more');

  await detachEndpoint({ containerId: ID, ifName: 'eth0', netnsPath: nsPath });
  assert.equal(linkGet(ep.hostIfName), null);
  assert.equal(linkGet('eth0', nsPath), null);
  await detachEndpoint({ containerId: ID, ifName: 'eth0', netnsPath: nsPath }); // idempotent
});
