/**
 * native/netlink.c through src/network/netlink.ts: what it creates, checked with `ip -j`, and removed again. Every
 * name is unique to this run; the cleanup removes only those names.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as nl from '../../../src/network/netlink.js';
import { is } from '../../../src/errors/index.js';
import { run } from '../../../src/util/index.js';
import { freeSubnet24, ipJson, uniqueSuffix } from '../../helpers/net-names.js';

const sfx = uniqueSuffix();
const NS = `wharf-nltest-${sfx}`;
const BR = `wnlbr${sfx}`;
const VETH = `wnlv${sfx}`;
const cleanups: Array<() => unknown> = [];
after(() => {
  for (const c of cleanups.reverse()) {
    try {
      c();
    } catch {
      /* best effort: each step removes only what this file created */
    }
  }
});

interface IpLink {
  ifname: string;
  mtu: number;
  address: string;
  flags: string[];
  master?: string;
  operstate?: string;
  linkinfo?: { info_slave_data?: { hairpin?: boolean } };
}
interface IpAddr {
  ifname: string;
  addr_info: Array<{ local: string; prefixlen: number; family: string }>;
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
}

test('the addon is built (npm run build)', () => {
  assert.equal(nl.netlinkAvailable(), true);
});

test('a namespace, a bridge with addresses, a veth into the namespace configured as eth0, then removed', async () => {
  const base = await freeSubnet24();
  // In the kernel's canonical form (no leading zeros in a group), as `ip -j addr` prints it.
  const v6 = `fd${sfx.slice(0, 2)}:${Number.parseInt(sfx.slice(2, 6), 16).toString(16)}::`;

  const nsPath = nl.netnsCreate(NS);
  cleanups.push(() => nl.netnsDelete(nsPath));
  assert.ok((await run('ip', ['netns', 'list'])).stdout.includes(NS), '`ip netns` lists it');
  assert.throws(
    () => nl.netnsCreate(NS),
    (e) => is(e, 'ALREADY_EXISTS'),
  );

  assert.equal(nl.bridgeAdd(BR, 0), true);
  cleanups.push(() => nl.linkDel(BR));
  assert.equal(nl.bridgeAdd(BR, 0), false, 'a second call finds it');
  nl.addrEnsure(BR, `${base}.1/24`);
  nl.addrEnsure(BR, `${base}.1/24`); // idempotent
  nl.addrEnsure(BR, `${v6}1/64`);
  nl.linkUp(BR);

  nl.vethAdd({ hostName: VETH, peerName: 'eth0', netns: nsPath, mac: '02:42:0a:00:00:07', mtu: 1400 });
  cleanups.push(() => nl.linkDel(VETH));
  nl.linkSetMaster(VETH, BR, true);
  nl.linkUp(VETH);
  nl.addrAdd('eth0', `${base}.7/24`, nsPath);
  nl.addrAdd('eth0', `${v6}7/64`, nsPath);
  nl.linkUp('eth0', nsPath);
  nl.linkUp('lo', nsPath);
  nl.routeAdd('0.0.0.0/0', `${base}.1`, 'eth0', nsPath);
  nl.routeAdd('::/0', `${v6}1`, 'eth0', nsPath);

  const [br] = await ipJson<IpAddr[]>(['addr', 'show', 'dev', BR]);
  assert.deepEqual(
    br!.addr_info.filter((a) => !a.local.startsWith('fe80')).map((a) => `${a.local}/${a.prefixlen}`),
    [`${base}.1/24`, `${v6}1/64`],
  );
  const [host] = await ipJson<IpLink[]>(['-d', 'link', 'show', 'dev', VETH]);
  assert.equal(host!.master, BR);
  assert.equal(host!.mtu, 1400);
  assert.equal(host!.linkinfo?.info_slave_data?.hairpin, true, 'hairpin mode on the bridge port');
  assert.ok(host!.flags.includes('UP'));

  const [eth0] = await ipJson<IpLink[]>(['link', 'show', 'dev', 'eth0'], NS);
  assert.equal(eth0!.address, '02:42:0a:00:00:07');
  assert.equal(eth0!.mtu, 1400);
  assert.ok(eth0!.flags.includes('UP'));
  const [lo] = await ipJson<IpLink[]>(['link', 'show', 'dev', 'lo'], NS);
  assert.ok(lo!.flags.includes('UP'), 'loopback up');
  const [addrs] = await ipJson<IpAddr[]>(['addr', 'show', 'dev', 'eth0'], NS);
  assert.deepEqual(
    addrs!.addr_info.filter((a) => !a.local.startsWith('fe80')).map((a) => `${a.local}/${a.prefixlen}`),
    [`${base}.7/24`, `${v6}7/64`],
  );
  const r4 = await ipJson<IpRoute[]>(['route', 'show', 'default'], NS);
  assert.deepEqual(
    r4.map((r) => [r.gateway, r.dev]),
    [[`${base}.1`, 'eth0']],
  );
  const r6 = await ipJson<IpRoute[]>(['-6', 'route', 'show', 'default'], NS);
  assert.deepEqual(
    r6.map((r) => [r.gateway, r.dev]),
    [[`${v6}1`, 'eth0']],
  );
  assert.deepEqual(
    { mac: nl.linkGet('eth0', nsPath)?.mac, up: nl.linkGet('eth0', nsPath)?.up },
    { mac: '02:42:0a:00:00:07', up: true },
  );
  assert.equal(nl.linkGet(VETH)?.master, nl.linkGet(BR)?.index);
  assert.equal(nl.linkGet(`nope${sfx}`), null);

  // The container side reaches the bridge's address (v4 and v6, no DAD wait).
  const ping4 = await run('ip', ['netns', 'exec', NS, 'busybox', 'ping', '-c', '3', '-W', '3', `${base}.1`], {
    check: false,
  });
  assert.equal(ping4.code, 0, ping4.stderr + ping4.stdout);
  const ping6 = await run('ip', ['netns', 'exec', NS, 'busybox', 'ping', '-c', '3', '-W', '3', `${v6}1`], {
    check: false,
  });
  assert.equal(ping6.code, 0, ping6.stderr + ping6.stdout);

  // Errors carry stable codes.
  assert.throws(
    () => nl.addrAdd('eth0', `${base}.7/24`, nsPath),
    (e) => is(e, 'ALREADY_EXISTS'),
  );
  assert.throws(
    () => nl.linkUp(`nope${sfx}`),
    (e) => is(e, 'NOT_FOUND'),
  );
  assert.throws(
    () => nl.addrAdd('eth0', 'not-an-address', nsPath),
    (e) => is(e, 'INVALID_ARGUMENT'),
  );
  assert.throws(
    () => nl.vethAdd({ hostName: 'x'.repeat(16), peerName: 'eth0', netns: nsPath }),
    (e) => is(e, 'INVALID_ARGUMENT'),
  );

  // Removal: deleting the host end takes the peer with it; the namespace goes with its mount.
  assert.equal(await nl.linkDelAsync(VETH), true);
  assert.equal(await nl.linkDelAsync(VETH), false, 'already gone');
  await assert.rejects(nl.linkDelAsync('lo', '/nonexistent-netns'), (e) => is(e, 'NOT_FOUND'));
  assert.deepEqual(await ipJson<IpLink[]>(['link', 'show', 'type', 'veth'], NS), []);
  assert.equal(nl.netnsDelete(nsPath), true);
  assert.equal(nl.netnsDelete(nsPath), false);
  assert.equal(existsSync(nsPath), false);
  assert.equal(nl.linkDel(BR), true);
  assert.equal(nl.linkGet(BR), null);
});
