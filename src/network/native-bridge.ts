import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { WharfError, isErrno } from '../errors/index.js';
import { run } from '../util/index.js';
import type { BridgeNetworkOptions } from './cni.js';
import {
  attachEndpoint,
  detachEndpoint,
  ensureBridge,
  hostIfNameFor,
  publishPorts,
  unpublishPorts,
} from './native-endpoint.js';
import { linkGet, netlinkAvailable, netnsCreate, netnsDelete } from './netlink.js';
import type { PortMapping } from './publish.js';

/**
 * PROTOTYPE (issue 15, behind WHARF_NET_NATIVE=1): the default bridge network without the CNI plugins, to measure
 * what native-endpoint.ts saves on a start. The network model being rewritten (user-defined networks, IPAM in the
 * database, per-network rules) replaces the two stand-ins here: the IPAM below (host-local's files, so that both
 * paths share the one allocation while they coexist) and the per-network rules (ensureNetworkRules).
 */

export const nativeNetworkEnabled = (): boolean => process.env.WHARF_NET_NATIVE === '1';

export interface NativeNetworkState {
  bridge: string;
  ifName: string;
  /** host-local's directory whose `<ip>` file holds this container's lease. */
  ipamDir: string;
  /** '' when unknown (a teardown without the record): the lease is found by container ID. */
  ip: string;
}

const DEFAULTS = { name: 'wharf', bridge: 'wharf0', subnet: '10.89.0.0/24', gateway: '10.89.0.1' };
const IPAM_ROOT = '/var/lib/cni/networks';
const RULES_MARK_DIR = '/run/wharf/native-net';

const v4 = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const v4s = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/**
 * Reserve the next free address after the last one reserved, as host-local does: one file per address, created with
 * O_EXCL (atomic across processes, CNI's host-local included), holding the container ID and interface.
 */
export function reserveAddress(dir: string, subnet: string, gateway: string, id: string, ifName: string): string {
  const [net, bits] = subnet.split('/');
  const size = 2 ** (32 - Number(bits));
  const first = v4(net!) + 1;
  const last = v4(net!) + size - 2;
  mkdirSync(dir, { recursive: true });
  let start = first;
  try {
    start = v4(readFileSync(path.join(dir, 'last_reserved_ip.0'), 'utf8').trim()) + 1;
  } catch {
    /* none yet */
  }
  for (let i = 0; i < size - 2; i++) {
    const n = first + ((start - first + i + (size - 2)) % (size - 2));
    if (n > last) continue;
    const ip = v4s(n);
    if (ip === gateway) continue;
    try {
      const fd = openSync(path.join(dir, ip), 'wx', 0o644);
      writeFileSync(fd, `${id}\r\n${ifName}`);
      closeSync(fd);
      writeFileSync(path.join(dir, 'last_reserved_ip.0'), ip);
      return ip;
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
  }
  throw new WharfError('UNAVAILABLE', `no free address left in ${subnet}`);
}

export function releaseAddress(dir: string, ip: string | undefined, id: string): void {
  const names = ip ? [ip] : readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
  for (const f of names) {
    try {
      if (readFileSync(path.join(dir, f), 'utf8').split(/\r?\n/)[0] === id) unlinkSync(path.join(dir, f));
    } catch {
      /* gone already */
    }
  }
}

/**
 * The network's own rules, once per boot (a mark under /run, which a reboot clears as it clears the rules):
 * masquerade what leaves the subnet, accept forwarding to and from the bridge. Stand-in for the per-network rules
 * of the network model.
 */
async function ensureNetworkRules(bridge: string, subnet: string, createdBridge: boolean): Promise<void> {
  const mark = path.join(RULES_MARK_DIR, `${bridge}-${createHash('sha256').update(subnet).digest('hex').slice(0, 12)}`);
  if (!createdBridge) {
    try {
      readFileSync(mark);
      return;
    } catch {
      /* not yet */
    }
  }
  const c = `-m comment --comment "wharf-net:${bridge}"`;
  const batch = [
    '*nat',
    `-A POSTROUTING -s ${subnet} ! -d ${subnet} ${c} -j MASQUERADE`,
    'COMMIT',
    '*filter',
    `-A FORWARD -i ${bridge} ${c} -j ACCEPT`,
    `-A FORWARD -o ${bridge} ${c} -j ACCEPT`,
    'COMMIT',
    '',
  ].join('\n');
  const r = await run('iptables-restore', ['-w', '--noflush'], { input: batch, check: false });
  if (r.code !== 0) throw new WharfError('INTERNAL', `network rules of ${bridge}: ${r.stderr.trim()}`);
  mkdirSync(RULES_MARK_DIR, { recursive: true });
  writeFileSync(mark, '');
}

/** The namespace, the interface on the bridge and the published ports; undone on failure. */
export async function nativeBridgeSetup(opts: {
  id: string;
  netnsName: string;
  ifName: string;
  ports: PortMapping[];
  mac?: string;
  network?: BridgeNetworkOptions;
}): Promise<{
  netnsPath: string;
  ip: string;
  prefixLength: number;
  gateway: string;
  mac: string;
  state: NativeNetworkState;
}> {
  const bridge = opts.network?.bridge ?? DEFAULTS.bridge;
  const subnet = opts.network?.subnet ?? DEFAULTS.subnet;
  const gateway =
    opts.network?.gateway ?? (opts.network?.subnet ? v4s(v4(subnet.split('/')[0]!) + 1) : DEFAULTS.gateway);
  const prefixLength = Number(subnet.split('/')[1]);
  const ipamDir = opts.network?.ipamDataDir ?? path.join(IPAM_ROOT, opts.network?.name ?? DEFAULTS.name);
  const created = ensureBridge({
    name: bridge,
    addresses: [`${gateway}/${prefixLength}`],
    ...(opts.network?.mtu ? { mtu: opts.network.mtu } : {}),
  });
  await ensureNetworkRules(bridge, subnet, created);
  const ip = reserveAddress(ipamDir, subnet, gateway, opts.id, opts.ifName);
  const state: NativeNetworkState = { bridge, ifName: opts.ifName, ipamDir, ip };
  let netnsPath: string | undefined;
  try {
    netnsPath = netnsCreate(opts.netnsName);
    const ep = attachEndpoint({
      containerId: opts.id,
      netnsPath,
      ifName: opts.ifName,
      bridge,
      addresses: [`${ip}/${prefixLength}`],
      gateways: [gateway],
      hairpin: true,
      ...(opts.mac ? { mac: opts.mac } : {}),
      ...(opts.network?.mtu ? { mtu: opts.network.mtu } : {}),
    });
    if (opts.ports.length) await publishPorts({ containerId: opts.id, containerIP: ip, bridge, ports: opts.ports });
    return { netnsPath, ip, prefixLength, gateway, mac: ep.mac, state };
  } catch (err) {
    await nativeBridgeTeardown(opts.id, opts.netnsName, netnsPath, opts.ports, state).catch(() => {});
    throw err;
  }
}

/**
 * What a teardown without the record needs, when the container joined the default bridge natively (its veth, named
 * after its ID, is there); undefined otherwise (a CNI container, or nothing left).
 */
export function nativeLeftovers(id: string, ifName: string): NativeNetworkState | undefined {
  if (!netlinkAvailable() || !linkGet(hostIfNameFor(id, ifName))) return undefined;
  return { bridge: DEFAULTS.bridge, ifName, ipamDir: path.join(IPAM_ROOT, DEFAULTS.name), ip: '' };
}

/** Undo nativeBridgeSetup; idempotent. */
export async function nativeBridgeTeardown(
  id: string,
  netnsName: string,
  netnsPath: string | undefined,
  /** undefined when unknown: the rules are found by their comment. */
  ports: readonly PortMapping[] | undefined,
  state: NativeNetworkState,
): Promise<void> {
  let first: unknown;
  const step = async (f: () => unknown): Promise<void> => {
    try {
      await f();
    } catch (err) {
      first ??= err;
    }
  };
  const nsPath = netnsPath ?? `/var/run/netns/${netnsName}`;
  await step(() => unpublishPorts({ containerId: id, containerIP: state.ip, ports }));
  await step(() => detachEndpoint({ containerId: id, ifName: state.ifName, netnsPath: nsPath }));
  await step(() => releaseAddress(state.ipamDir, state.ip || undefined, id));
  await step(() => netnsDelete(nsPath));
  if (first) throw first;
}
