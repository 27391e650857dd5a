import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { is } from '../../../src/errors/index.js';
import {
  Runc,
  buildSpec,
  startMonitor,
  waitExit,
  execInContainer,
  buildExecProcess,
} from '../../../src/runtime/index.js';
import {
  netnsExists,
  netnsNameFor,
  networkAttachment,
  parsePublish,
  setupNetwork,
  teardownNetwork,
  type NetworkSetup,
} from '../../../src/network/index.js';
import { hostIfNameFor } from '../../../src/network/native-endpoint.js';
import { run } from '../../../src/util/index.js';
import { makeRootfs } from '../runtime/rootfs-helper.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/** Lines of iptables-save (all tables) that mention this container's ID or IP. */
async function rulesOf(id: string, ip: string | undefined): Promise<string[]> {
  const out = (await run('iptables-save', [])).stdout.split('\n');
  return out.filter(
    (l) => l.includes(id) || (ip !== undefined && new RegExp(`\\b${ip.replace(/\./g, '\\.')}\\b`).test(l)),
  );
}

async function hostVeths(): Promise<Set<string>> {
  const out = (await run('ip', ['-o', 'link', 'show', 'master', 'wharf0'], { check: false })).stdout;
  return new Set(
    out
      .split('\n')
      .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
      .filter(Boolean),
  );
}

async function freeLoopbackPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

test('httpd on the bridge answers on a published loopback port, and teardown leaves nothing behind', async () => {
  const r = await makeRootfs();
  const port = await freeLoopbackPort();
  let setup: NetworkSetup | undefined = await setupNetwork({
    id: r.id,
    mode: 'bridge',
    // one port on loopback only, one on every address (Docker's plain `-p 0:80`), both reached via 127.0.0.1
    ports: [...parsePublish(`127.0.0.1:${port}:80`), ...parsePublish('80')],
    hostname: 'web',
  });
  cleanups.push(async () => {
    if (setup) await teardownNetwork(r.id, setup);
    await r.remove();
  });
  assert.equal(setup.ports[0]!.hostPort, port);
  assert.match(setup.ip ?? '', /^10\.89\.0\.\d+$/);
  assert.equal(setup.gateway, '10.89.0.1');
  assert.ok(await netnsExists(netnsNameFor(r.id)));
  assert.match(setup.hosts, new RegExp(`^${setup.ip!.replace(/\./g, '\\.')}\\tweb$`, 'm'));
  assert.doesNotMatch(setup.resolvConf, /nameserver 127\./);

  const hostsFile = path.join(r.dir, 'hosts');
  await fsp.writeFile(hostsFile, setup.hosts);
  const spec = buildSpec(
    { Cmd: ['httpd', '-f', '-p', '80', '-h', '/www'], User: 'www' },
    {
      rootfs: r.rootfs,
      network: networkAttachment(setup),
      hostname: 'web',
      etcFiles: { hosts: hostsFile },
      passwd: await fsp.readFile(path.join(r.rootfs, 'etc/passwd'), 'utf8'),
      cgroupsPath: `/wharf-test/${r.id}`,
    },
  );
  await fsp.writeFile(path.join(r.dir, 'config.json'), JSON.stringify(spec));
  const runc = new Runc({ root: path.join(r.runDir, 'runc') });
  const stateDir = path.join(r.runDir, 'm');
  await startMonitor({
    id: r.id,
    bundle: r.dir,
    runcRoot: runc.root,
    stateDir,
    logPath: path.join(r.dir, 'log.json'),
    tty: false,
    openStdin: false,
  });
  // Runs first (cleanups run in reverse): a failed assertion below must not leave the container running.
  cleanups.push(async () => {
    await runc.kill(r.id, 'SIGKILL').catch(() => {});
    await waitExit(stateDir, 20_000).catch(() => {});
  });

  let res: { status: number; body: string } | undefined;
  for (let i = 0; i < 50 && !res; i++) {
    res = await get(port, '/index.html').catch(() => undefined);
    if (!res) await sleep(100);
  }
  assert.deepEqual(res, { status: 200, body: 'hello from wharf\n' });
  const anyAddr = setup.ports[1]!;
  assert.equal(anyAddr.hostIP, '');
  assert.ok(anyAddr.hostPort > 0);
  assert.deepEqual(await get(anyAddr.hostPort, '/index.html'), { status: 200, body: 'hello from wharf\n' });
  assert.ok((await rulesOf(r.id, setup.ip)).length > 0, 'the container has its own rules while it runs');
  // This container's own host-side veth (other tests' containers come and go on the same bridge meanwhile).
  // (The native path made it, with a name derived from the container ID.)
  const veth = setup.native
    ? hostIfNameFor(r.id, 'eth0')
    : setup.cni?.result.interfaces?.find((i) => !i.sandbox && i.name !== 'wharf0')?.name;
  assert.ok(veth, 'CNI reports the host side of the veth pair');
  assert.ok((await hostVeths()).has(veth), `${veth} is on wharf0 while the container runs`);

  // the container sees its address and the bind-mounted hosts file
  const out: Buffer[] = [];
  const sink = new (await import('node:stream')).PassThrough();
  sink.on('data', (d: Buffer) => out.push(d));
  const code = await execInContainer({
    runc,
    id: r.id,
    process: buildExecProcess(spec.process, { args: ['cat', '/etc/hosts'] }),
    stdout: sink,
  });
  assert.equal(code, 0);
  assert.match(Buffer.concat(out).toString(), /\tweb\n/);

  await runc.kill(r.id, 'SIGKILL');
  await waitExit(stateDir, 20_000);
  const ip = setup.ip;
  await teardownNetwork(r.id, setup);
  setup = undefined;
  assert.equal(await netnsExists(netnsNameFor(r.id)), false, 'namespace removed');
  assert.deepEqual(await rulesOf(r.id, ip), [], 'no iptables rule of the container is left');
  assert.equal((await hostVeths()).has(veth), false, `veth ${veth} left behind`);
  await assert.rejects(get(port, '/index.html'));
  // teardown twice is harmless
  await teardownNetwork(r.id);
});

test('a host port in use is a CONFLICT before anything is created', async () => {
  const srv = net.createServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const port = (srv.address() as net.AddressInfo).port;
  const id = `wt-conflict-${process.pid}`;
  try {
    await assert.rejects(
      setupNetwork({ id, mode: 'bridge', ports: parsePublish(`127.0.0.1:${port}:80`), hostname: 'x' }),
      (err: unknown) => is(err, 'CONFLICT') && /in use/.test((err as Error).message),
    );
    assert.equal(await netnsExists(netnsNameFor(id)), false);
  } finally {
    await new Promise((res) => srv.close(res));
  }
});

test('a port published by another container is a CONFLICT too', async () => {
  const r1 = `wt-pub1-${process.pid}`;
  const r2 = `wt-pub2-${process.pid}`;
  const port = await freeLoopbackPort();
  const s1 = await setupNetwork({ id: r1, mode: 'bridge', ports: parsePublish(`127.0.0.1:${port}:80`), hostname: 'a' });
  try {
    await assert.rejects(
      setupNetwork({ id: r2, mode: 'bridge', ports: parsePublish(`${port}:8080`), hostname: 'b' }),
      (err: unknown) => is(err, 'CONFLICT') && /published/.test((err as Error).message),
    );
    assert.equal(await netnsExists(netnsNameFor(r2)), false);
  } finally {
    await teardownNetwork(r1, s1);
  }
});

test('-P style random ports are allocated, none mode has only loopback, host mode has no namespace', async () => {
  const id = `wt-rand-${process.pid}`;
  const s = await setupNetwork({ id, mode: 'bridge', ports: parsePublish('127.0.0.1::80'), hostname: 'r' });
  try {
    assert.ok(s.ports[0]!.hostPort > 0);
  } finally {
    await teardownNetwork(id, s);
  }
  // none: no named namespace and no CNI call; the container gets runc's fresh namespace (loopback only, which the
  // container lifecycle test checks from inside).
  const noneId = `wt-none-${process.pid}`;
  const none = await setupNetwork({ id: noneId, mode: 'none', hostname: 'n' });
  assert.equal(none.netnsName, undefined);
  assert.equal(none.ip, undefined);
  assert.deepEqual(networkAttachment(none), { mode: 'new' });
  assert.match(none.hosts, /127\.0\.0\.1\s+localhost/);
  await teardownNetwork(noneId, none);
  assert.equal(await netnsExists(netnsNameFor(noneId)), false);
  const host = await setupNetwork({
    id: 'wt-host',
    mode: 'host',
    hostname: 'h',
    ports: parsePublish('80'),
    hostResolvConf: 'nameserver 127.0.0.53\n',
  });
  assert.equal(host.netnsPath, undefined);
  assert.equal(host.resolvConf, 'nameserver 127.0.0.53\n');
  assert.equal(host.warnings.length, 1);
  assert.deepEqual(networkAttachment(host), { mode: 'host' });
});
