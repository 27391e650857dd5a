/**
 * The default bridge joined natively (network/native-bridge.ts, the only path when the netlink addon is built)
 * through setupNetwork: a published port answers on 127.0.0.1, and teardown leaves no namespace, veth, rule or
 * address lease behind, with its record and without it; `system check` finds what a teardown that never ran left of
 * a stopped container's network, and `--repair` removes it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostIfNameFor } from '../../../src/network/native-endpoint.js';
import { linkGet } from '../../../src/network/netlink.js';
import { netnsNameFor, parsePublish, setupNetwork, teardownNetwork } from '../../../src/network/index.js';
import { run } from '../../../src/util/index.js';
import { uniqueSuffix } from '../../helpers/net-names.js';
import { ok, tempRoot } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';

const ID = `nativebridgetest${uniqueSuffix()}`;
const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse())
    await Promise.resolve()
      .then(c)
      .catch(() => {});
});

const leases = (): string[] =>
  existsSync('/var/lib/cni/networks/wharf') ? readdirSync('/var/lib/cni/networks/wharf') : [];

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/index.html', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

async function rulesOf(id: string, ip: string): Promise<string[]> {
  return (await run('iptables-save', [])).stdout
    .split('\n')
    .filter((l) => l.includes(id) || l.includes(`${ip}/`) || l.includes(`${ip}:`));
}

test('setupNetwork joins the default bridge natively; teardown leaves nothing, with its record and without', async () => {
  const [mapping] = parsePublish('127.0.0.1::80');
  const setup = await setupNetwork({ id: ID, mode: 'bridge', ports: [mapping!], hostname: 'web', hostResolvConf: '' });
  cleanups.push(() => teardownNetwork(ID, setup));
  assert.ok(setup.native, 'the native path was taken');
  assert.equal(setup.cni, undefined);
  assert.match(setup.ip ?? '', /^10\.89\.0\.\d+$/);
  assert.equal(setup.gateway, '10.89.0.1');
  assert.ok(leases().includes(setup.ip!), "the address is leased in host-local's directory");
  assert.equal(linkGet(hostIfNameFor(ID, 'eth0'))?.master, linkGet('wharf0')?.index, 'the veth is on wharf0');
  assert.equal(linkGet('eth0', setup.netnsPath)?.mac, setup.mac);
  const hostPort = setup.ports[0]!.hostPort;
  assert.ok(hostPort > 0);

  const www = mkdtempSync(path.join(os.tmpdir(), 'wharf-nbtest-'));
  cleanups.push(() => rmSync(www, { recursive: true, force: true }));
  writeFileSync(path.join(www, 'index.html'), `hi ${ID}\n`);
  const httpd = spawn('ip', ['netns', 'exec', netnsNameFor(ID), 'busybox', 'httpd', '-f', '-p', '80', '-h', www], {
    stdio: 'ignore',
  });
  cleanups.push(() => httpd.kill('SIGKILL'));
  let body = '';
  for (let i = 0; i < 50 && !body; i++) {
    body = await get(hostPort).catch(() => '');
    if (!body) await sleep(100);
  }
  assert.equal(body, `hi ${ID}\n`, 'the published port answers on 127.0.0.1');
  httpd.kill('SIGKILL');
  await new Promise((r) => httpd.once('exit', r));

  await teardownNetwork(ID, setup);
  assert.equal(existsSync(setup.netnsPath!), false, 'namespace removed');
  assert.equal(linkGet(hostIfNameFor(ID, 'eth0')), null, 'veth removed');
  assert.deepEqual(await rulesOf(ID, setup.ip!), [], 'no rule left');
  assert.equal(leases().includes(setup.ip!), false, 'address released');
  await teardownNetwork(ID, setup); // twice is harmless

  // A start whose record was lost: teardown by ID alone still removes the rules, the veth and the lease.
  const again = await setupNetwork({ id: ID, mode: 'bridge', ports: [mapping!], hostname: 'web', hostResolvConf: '' });
  assert.ok(again.native);
  await teardownNetwork(ID);
  assert.equal(existsSync(again.netnsPath!), false);
  assert.equal(linkGet(hostIfNameFor(ID, 'eth0')), null);
  assert.deepEqual(await rulesOf(ID, again.ip!), []);
  assert.equal(leases().includes(again.ip!), false);
});

test("system check finds a stopped container's network left on the host, and --repair removes it", async () => {
  const t = await tempRoot('wharf-netcheck-');
  cleanups.push(() => t.cleanup());
  ok(await t.cli(['import', '-c', 'CMD ["sh"]', await makeBusyboxTar(t.root), 'busybox']), 'import');
  const id = ok(await t.cli(['create', '--name', 'left', 'busybox', 'true']), 'create').stdout.trim();
  // What a start leaves when the process doing its teardown is killed: the container's record says it does not run.
  const [mapping] = parsePublish('127.0.0.1::80');
  const setup = await setupNetwork({ id, mode: 'bridge', ports: [mapping!], hostname: 'x', hostResolvConf: '' });
  cleanups.push(() => teardownNetwork(id, setup));
  const found = await t.cli(['system', 'check']);
  const text = found.stdout + found.stderr;
  assert.match(text, /network of stopped container \w+ still on the host/);
  for (const what of ['network namespace', 'veth', 'address lease', 'published-port rules'])
    assert.ok(text.includes(what), `${what} reported: ${text}`);
  ok(await t.cli(['system', 'check', '--repair']), 'repair');
  assert.equal(existsSync(setup.netnsPath!), false, 'namespace removed');
  assert.equal(linkGet(hostIfNameFor(id, 'eth0')), null, 'veth removed');
  assert.deepEqual(await rulesOf(id, setup.ip!), [], 'no rule left');
  assert.equal(leases().includes(setup.ip!), false, 'address released');
  const clean = await t.cli(['system', 'check']);
  assert.doesNotMatch(clean.stdout + clean.stderr, /network of stopped container/);
});
