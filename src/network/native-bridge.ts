import { createHash } from '../digest/index.js';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import { isErrno, WharfError } from '../errors/index.js';
import { run, testPausePoint } from '../util/index.js';
import { DEFAULT_BRIDGE_NAME, DEFAULT_GATEWAY, DEFAULT_SUBNET, type BridgeNetworkOptions } from './cni.js';
import { firstFreeAddress, parseCidr } from './ipam.js';
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
import { netnsInUserns } from '../snapshot/index.js';

/**
 * The default `bridge` network (wharf0), joined natively: the namespace, the veth pair, addresses and routes over
 * netlink (native-endpoint.ts), the published ports as one iptables-restore batch (port-rules.ts), and the bridge's
 * own rules once per boot. No CNI plugin runs.
 *
 * Addresses: ipam.ts computes them (firstFreeAddress, as for user-defined networks), but what is taken is not one
 * root's database: wharf0 is shared by every Wharf root on the host (each test, each user's --root), so the taken set
 * is host-wide — one lease file per address under /var/lib/cni/networks/wharf, created with O_EXCL (atomic across
 * processes and roots), in host-local's format so that containers started by an older Wharf through CNI keep theirs.
 */

export interface NativeNetworkState {
  bridge: string;
  ifName: string;
  /** The lease directory whose `<ip>` file holds this container's address. */
  ipamDir: string;
  /** '' when unknown (a teardown without the record): the lease is found by container ID. */
  ip: string;
  /** The host end's interface index (native-endpoint.ts's Endpoint.hostIndex); not in records from before. */
  hostIndex?: number;
}

const IPAM_ROOT = '/var/lib/cni/networks';
const DEFAULT_LEASES = 'wharf';
const RULES_MARK_DIR = '/run/wharf/native-net';
const LEASE = /^[0-9.]+$|^[0-9a-f:]+$/;

/** The addresses leased in `dir` (one file per address). */
function leased(dir: string): Set<string> {
  try {
    return new Set(readdirSync(dir).filter((f) => LEASE.test(f) && f.includes('.')));
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return new Set();
    throw err;
  }
}

/**
 * Lease the first free address of `subnet` (ipam.ts's rule) for container `id`: the lease file is created with
 * O_EXCL, so two starts racing for one address make one of them take the next.
 */
export function reserveAddress(dir: string, subnet: string, gateway: string, id: string, ifName: string): string {
  mkdirSync(dir, { recursive: true });
  const cidr = parseCidr(subnet);
  const used = leased(dir);
  used.add(gateway);
  for (;;) {
    const ip = firstFreeAddress(cidr, used); // UNAVAILABLE when the subnet is full
    try {
      const fd = openSync(path.join(dir, ip), 'wx', 0o644);
      writeFileSync(fd, `${id}\r\n${ifName}`);
      closeSync(fd);
      return ip;
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      used.add(ip); // taken meanwhile by another start
    }
  }
}

/** Remove container `id`'s lease (of `ip`, or whichever it holds when unknown); another container's stays. */
export function releaseAddress(dir: string, ip: string | undefined, id: string): void {
  for (const f of ip ? [ip] : [...leased(dir)]) {
    try {
      if (readFileSync(path.join(dir, f), 'utf8').split(/\r?\n/)[0] === id) unlinkSync(path.join(dir, f));
    } catch {
      /* gone already */
    }
  }
}

/** Container IDs holding a lease in the default bridge's directory (for `system check`). */
export function defaultBridgeLeases(): Array<{ ip: string; containerId: string }> {
  const dir = path.join(IPAM_ROOT, DEFAULT_LEASES);
  const out: Array<{ ip: string; containerId: string }> = [];
  for (const ip of leased(dir)) {
    try {
      out.push({ ip, containerId: readFileSync(path.join(dir, ip), 'utf8').split(/\r?\n/)[0] ?? '' });
    } catch {
      /* released meanwhile */
    }
  }
  return out;
}

/**
 * The bridge's own rules, once per boot (a mark under /run, which a reboot clears as it clears the rules):
 * masquerade what leaves the subnet, accept forwarding to and from the bridge.
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

/**
 * A container's network namespace, made natively; with `userns` (a remapped container) replaced by one its user
 * namespace owns (the same netnsInUserns as the CNI path used), so that the container's root administers it.
 */
export function createNamespace(name: string, userns: string | undefined): string {
  const nsPath = netnsCreate(name);
  if (userns) {
    try {
      netnsInUserns(userns, nsPath);
    } catch (err) {
      try {
        netnsDelete(nsPath);
      } catch {
        /* the first error is the one to report */
      }
      throw err;
    }
  }
  return nsPath;
}

/** The namespace, the interface on the bridge and the published ports; undone on failure. */
export async function nativeBridgeSetup(opts: {
  id: string;
  netnsName: string;
  ifName: string;
  ports: PortMapping[];
  mac?: string;
  userns?: string;
  network?: BridgeNetworkOptions;
}): Promise<{
  netnsPath: string;
  ip: string;
  prefixLength: number;
  gateway: string;
  mac: string;
  state: NativeNetworkState;
}> {
  const bridge = opts.network?.bridge ?? DEFAULT_BRIDGE_NAME;
  const subnet = opts.network?.subnet ?? DEFAULT_SUBNET;
  const gateway =
    opts.network?.gateway ?? (opts.network?.subnet ? firstFreeAddress(parseCidr(subnet), new Set()) : DEFAULT_GATEWAY);
  const prefixLength = parseCidr(subnet).prefix;
  const ipamDir = opts.network?.ipamDataDir ?? path.join(IPAM_ROOT, opts.network?.name ?? DEFAULT_LEASES);
  const created = ensureBridge({
    name: bridge,
    addresses: [`${gateway}/${prefixLength}`],
    ...(opts.network?.mtu ? { mtu: opts.network.mtu } : {}),
  });
  await ensureNetworkRules(bridge, subnet, created);
  const ip = reserveAddress(ipamDir, subnet, gateway, opts.id, opts.ifName);
  testPausePoint('start:after-ipam');
  const state: NativeNetworkState = { bridge, ifName: opts.ifName, ipamDir, ip };
  let netnsPath: string | undefined;
  try {
    netnsPath = createNamespace(opts.netnsName, opts.userns);
    testPausePoint('start:after-netns');
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
    state.hostIndex = ep.hostIndex;
    testPausePoint('start:after-veth');
    if (opts.ports.length) await publishPorts({ containerId: opts.id, containerIP: ip, bridge, ports: opts.ports });
    testPausePoint('start:after-port-rules');
    return { netnsPath, ip, prefixLength, gateway, mac: ep.mac, state };
  } catch (err) {
    await nativeBridgeTeardown(opts.id, opts.netnsName, netnsPath, opts.ports, state).catch(() => {});
    throw err;
  }
}

/**
 * What a teardown without the record needs, when the container joined the default bridge natively (its veth, named
 * after its ID, is there, or its lease is, or its namespace `nsPath` is: a start killed before it recorded its
 * network, a teardown killed after it gave the lease back); undefined otherwise.
 */
export function nativeLeftovers(id: string, ifName: string, nsPath?: string): NativeNetworkState | undefined {
  if (!netlinkAvailable()) return undefined;
  const ipamDir = path.join(IPAM_ROOT, DEFAULT_LEASES);
  const lease = defaultBridgeLeases().find((l) => l.containerId === id);
  if (!lease && !linkGet(hostIfNameFor(id, ifName)) && !(nsPath && existsSync(nsPath))) return undefined;
  return { bridge: DEFAULT_BRIDGE_NAME, ifName, ipamDir, ip: lease?.ip ?? '' };
}

/** Undo nativeBridgeSetup; idempotent. */
export async function nativeBridgeTeardown(
  id: string,
  netnsName: string,
  netnsPath: string | undefined,
  /** undefined when unknown: the rules are found by their comment. */
  ports: readonly PortMapping[] | undefined,
  state: NativeNetworkState,
  /** What must be over before the address is given back (the IPv6 relay that forwards to it stopping). */
  releasable: Promise<void> = Promise.resolve(),
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
  testPausePoint('teardown:mid-network'); // the rules gone, the veth, lease and namespace not yet
  // A record with the host end's index was joined here (the namespace holds no interface of the CNI plugin's): no
  // second request into the namespace when the monitor deleted the pair already (native/monitor/links.c).
  const cniMade = state.hostIndex === undefined;
  await step(() =>
    detachEndpoint({ containerId: id, ifName: state.ifName, ...(cniMade ? { netnsPath: nsPath } : {}) }),
  );
  await releasable;
  await step(() => releaseAddress(state.ipamDir, state.ip || undefined, id));
  await step(() => netnsDelete(nsPath));
  if (first) throw first;
}
