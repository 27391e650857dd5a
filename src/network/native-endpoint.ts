import { createHash } from '../digest/index.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { WharfError } from '../errors/index.js';
import { isIPv6Address } from './ipam.js';
import { run } from '../util/index.js';
import {
  addrEnsure,
  bridgeAdd,
  linkConfigure,
  linkDel,
  linkDelAsync,
  linkGet,
  linkSetMaster,
  linkUp,
  vethAdd,
} from './netlink.js';
import { deleteBatchFromListing, HOSTPORTS_CHAIN, portChainsSetupBatch, portRulesBatch } from './port-rules.js';
import type { PortRulesTarget } from './port-rules.js';
import type { PortMapping } from './publish.js';

/**
 * A container's interface on one of Wharf's own bridges, made over netlink (netlink.ts), and its published ports as
 * one `iptables-restore` batch: what the CNI bridge, loopback and portmap plugins do, without exec'ing them (each is
 * a Go binary, 20-40 ms to start). CNI stays for networks a user configures with their own CNI config; see
 * docs/architecture.md, "Container networking: native for Wharf's bridges, CNI for users' configs".
 * IPAM is the caller's: addresses and gateways come in chosen.
 */

export interface EndpointRequest {
  containerId: string;
  /** The container's network namespace (/var/run/netns/NAME). */
  netnsPath: string;
  /** The interface's name inside the container (eth0). */
  ifName: string;
  bridge: string;
  /** The container's addresses in CIDR form: one IPv4 and optionally one IPv6 ("10.89.0.5/24", "fd00::5/64"). */
  addresses: string[];
  /** Default gateways (one per family at most); each becomes a default route of its family. */
  gateways: string[];
  mac?: string;
  mtu?: number;
  /** A container reaches itself through its published ports (the bridge sends its frames back to it). */
  hairpin: boolean;
}

export interface Endpoint {
  mac: string;
  /** The host end of the veth pair (on the bridge). */
  hostIfName: string;
  /**
   * Its interface index: the container's monitor deletes the pair by it as soon as the container is gone
   * (native/monitor/links.c), so that the teardown need not wait for the kernel's deletion.
   */
  hostIndex: number;
}

/**
 * The host end's name, derived from the container and interface so that a teardown without a record finds it
 * ("wv" + 11 hex digits: interface names have at most 15 characters).
 */
export function hostIfNameFor(containerId: string, ifName: string): string {
  return `wv${createHash('sha256').update(`${containerId}/${ifName}`).digest('hex').slice(0, 11)}`;
}

/** Set a sysctl unless it already has that value (a read is cheaper than a write that would change nothing). */
function sysctl(key: string, value: string): void {
  const file = `/proc/sys/${key.replace(/\./g, '/')}`;
  try {
    if (readFileSync(file, 'utf8').trim() === value) return;
  } catch {
    return; // not there (IPv6 disabled, a kernel without the knob): nothing to set
  }
  writeFileSync(file, value);
}

/**
 * The bridge, up, with its gateway addresses (CIDRs), and forwarding on: created if missing, idempotent, a few
 * netlink calls when everything is already in place. True if the bridge was created now.
 */
export function ensureBridge(opts: { name: string; addresses: string[]; mtu?: number }): boolean {
  const created = bridgeAdd(opts.name, opts.mtu ?? 0);
  for (const a of opts.addresses) addrEnsure(opts.name, a);
  if (created || !linkGet(opts.name)?.up) linkUp(opts.name);
  sysctl('net.ipv4.ip_forward', '1');
  if (opts.addresses.some((a) => isIPv6Address(a))) sysctl('net.ipv6.conf.all.forwarding', '1');
  return created;
}

/**
 * The MAC address Docker gives an interface with IPv4 address `ip` (libnetwork's GenerateMACFromIP): 02:42 and the
 * address's four bytes. An address is leased again as soon as its container is gone, and the host and the other
 * containers on the bridge still have the old container's MAC in their neighbour tables for a while (a reachable
 * entry is trusted for up to ~30 s, a stale one re-probed only after 5 s): with a random MAC, a `run -p` right after an
 * `rm -f` that got the same address sent its first packets to a MAC that no longer exists, and the published port did
 * not answer for seconds. The same address always has the same MAC, so those entries stay right.
 */
export function macForIPv4(ip: string): string {
  const bytes = ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0'));
  return ['02', '42', ...bytes].join(':');
}

/**
 * Join a container's namespace to a bridge: a veth pair with its peer created inside the namespace as `ifName`
 * (with the MAC and MTU given), attached to the bridge (hairpin), the addresses, loopback and the default routes.
 * On failure nothing is left behind (the pair goes as a whole).
 */
export function attachEndpoint(req: EndpointRequest): Endpoint {
  const hostIfName = hostIfNameFor(req.containerId, req.ifName);
  const ipv4 = req.addresses.map((a) => a.split('/')[0]!).find((a) => !isIPv6Address(a));
  const mac = req.mac ?? (ipv4 ? macForIPv4(ipv4) : undefined);
  vethAdd({
    hostName: hostIfName,
    peerName: req.ifName,
    netns: req.netnsPath,
    ...(mac ? { mac } : {}),
    ...(req.mtu ? { mtu: req.mtu } : {}),
  });
  try {
    linkSetMaster(hostIfName, req.bridge, req.hairpin);
    linkUp(hostIfName);
    // Inside the namespace in one call: addresses, links up, default routes (a second network's default route does
    // not replace the first one's, as with the CNI bridge plugin, and as Docker gives a container one gateway).
    const set = linkConfigure(req.ifName, req.netnsPath, req.addresses, req.gateways);
    const hostIndex = linkGet(hostIfName)?.index;
    if (!set || !hostIndex)
      throw new WharfError('INTERNAL', `${req.ifName} of ${req.containerId} vanished while being set up`);
    return { mac: set, hostIfName, hostIndex };
  } catch (err) {
    try {
      linkDel(hostIfName);
    } catch {
      /* the first error is the one to report */
    }
    throw err;
  }
}

/**
 * Undo attachEndpoint: delete the veth pair (its peer goes with it), off the event loop. Idempotent. An interface
 * made otherwise (by the CNI bridge plugin, with a random host name) is deleted from inside the namespace when
 * `netnsPath` is given.
 */
export async function detachEndpoint(req: { containerId: string; ifName: string; netnsPath?: string }): Promise<void> {
  if (await linkDelAsync(hostIfNameFor(req.containerId, req.ifName))) return;
  if (req.netnsPath) {
    try {
      await linkDelAsync(req.ifName, req.netnsPath);
    } catch (err) {
      if (!(err instanceof WharfError && err.code === 'NOT_FOUND')) throw err; // the namespace is gone too
    }
  }
}

/** One `iptables-restore --noflush` run; returns its stderr on failure. */
async function restore(batch: string): Promise<{ ok: boolean; stderr: string }> {
  const r = await run('iptables-restore', ['-w', '--noflush'], { input: batch, check: false });
  return { ok: r.code === 0, stderr: r.stderr.trim() };
}

/**
 * Publish a container's ports (IPv4 host addresses; IPv6 ones are the relay's): one iptables-restore batch, plus
 * route_localnet on the bridge so that 127.0.0.1 reaches them. The chains are created the first time (a second batch,
 * once per boot). Call it under the port lock (setup.ts's withPortLock), which also serialises that creation.
 */
export async function publishPorts(t: PortRulesTarget & { bridge: string }): Promise<void> {
  const batch = portRulesBatch(t, 'add');
  if (!batch) return;
  sysctl(`net.ipv4.conf.${t.bridge}.route_localnet`, '1');
  let r = await restore(batch);
  if (!r.ok && /chain|target|No such file/i.test(r.stderr)) {
    const setup = await restore(portChainsSetupBatch());
    if (!setup.ok) throw new WharfError('INTERNAL', `creating the port publishing chains: ${setup.stderr}`);
    r = await restore(batch);
  }
  if (!r.ok)
    throw new WharfError('INTERNAL', `publishing ports of ${t.containerId}: iptables-restore: ${r.stderr}`, {
      details: { batch },
    });
}

/**
 * Remove a container's published-port rules: the exact delete batch first (one exec); if that fails (some are gone
 * already) or the mappings are unknown (`ports` undefined), whatever rules still carry the container's comment.
 * Idempotent.
 */
export async function unpublishPorts(
  t: Omit<PortRulesTarget, 'ports'> & { ports: readonly PortMapping[] | undefined },
): Promise<void> {
  if (t.ports?.length === 0) return; // published nothing (known from the record): no exec at all
  const batch = t.ports ? portRulesBatch({ ...t, ports: t.ports }, 'delete') : '';
  if (batch && (await restore(batch)).ok) return;
  const listing = await run('iptables', ['-w', '-t', 'nat', '-S'], { check: false });
  if (listing.code !== 0 || !listing.stdout.includes(HOSTPORTS_CHAIN)) return; // never published anything
  const rest = deleteBatchFromListing(listing.stdout, t.containerId);
  if (!rest) return;
  const r = await restore(rest);
  if (!r.ok)
    throw new WharfError('INTERNAL', `removing the published ports of ${t.containerId}: iptables-restore: ${r.stderr}`);
}
