import { readFileSync } from 'node:fs';
import { WharfError } from '../errors/index.js';
import {
  addNetworkList,
  bridgeConflist,
  delNetworkList,
  invokePlugin,
  loopbackConf,
  DEFAULT_CNI_PLUGIN_DIR,
  type BridgeNetworkOptions,
  type CniConflist,
  type CniResult,
} from './cni.js';
import { hostsFileContent, resolvConfContent, type ExtraHost, type ResolvConfOptions } from './etc-files.js';
import { createNetns, deleteNetns, netnsPath } from './netns.js';
import { allocateRandomPorts, checkPortsFree } from './ports.js';
import { withPortLock } from './port-lock.js';
import { stopPortProxy } from './port-proxy.js';
import type { PortMapping } from './publish.js';
import type { NetworkAttachment } from '../runtime/spec.js';
import { attachEndpoint, detachEndpoint, type AttachedEndpoint } from './endpoint.js';
import type { EndpointRecord, NetworkRecord } from './network-records.js';
import { trace } from '../util/index.js';
import {
  createNamespace,
  nativeBridgeSetup,
  nativeBridgeTeardown,
  nativeLeftovers,
  type NativeNetworkState,
} from './native-bridge.js';
import { netlinkAvailable, netnsDelete } from './netlink.js';

/** bridge, host, none, or a user-defined network's name (HostConfig.NetworkMode as Docker records it). */
export type NetworkMode = 'bridge' | 'host' | 'none' | (string & {});

/** The predefined modes; anything else names a user-defined network. */
export const isUserNetworkMode = (mode: string): boolean =>
  mode !== 'bridge' && mode !== 'host' && mode !== 'none' && mode !== 'default' && !mode.startsWith('container:');

/** One user-defined network a starting container joins, its endpoint already recorded (addresses taken). */
export interface UserNetworkJoin {
  network: NetworkRecord;
  endpoint: EndpointRecord;
}

export interface NetworkRequest {
  /** The container ID (CNI_CONTAINERID; the namespace is `wharf-<id>`). */
  id: string;
  mode: NetworkMode;
  /** From parsePublish / exposedPortMappings; hostPort 0 and host ranges are allocated here. */
  ports?: PortMapping[];
  hostname: string;
  domainname?: string;
  /** The interface's MAC address on the bridge (`--mac-address`). */
  mac?: string;
  /** A remapped container's user namespace (a bind-mounted file): its network namespace is made owned by it. */
  userns?: string;
  extraHosts?: ExtraHost[];
  dns?: ResolvConfOptions;
  /** The bridge network's settings (default: bridge wharf0, 10.89.0.0/24). */
  network?: BridgeNetworkOptions;
  pluginDir?: string;
  /** On user-defined networks: the networks, the first one the container's own (its ports, gateway, resolver). */
  userNetworks?: UserNetworkJoin[];
  /** The host's resolv.conf (default: read /etc/resolv.conf). */
  hostResolvConf?: string;
}

/** Everything teardown needs, plus what the container record shows; JSON-serialisable, store it as it is. */
export interface NetworkSetup {
  id: string;
  mode: NetworkMode;
  netnsName?: string;
  netnsPath?: string;
  ip?: string;
  prefixLength?: number;
  gateway?: string;
  mac?: string;
  ports: PortMapping[];
  /** Contents for the container's /etc/hosts and /etc/resolv.conf (write them, then pass them to buildSpec's etcFiles). */
  hosts: string;
  resolvConf: string;
  warnings: string[];
  /** The process that publishes the ports on IPv6 (port-proxy.ts), stopped with the network. */
  proxyPid?: number;
  cni?: { conflist: CniConflist; result: CniResult; ifName: string; pluginDir: string };
  /** The container's interfaces on user-defined networks (endpoint.ts), in attach order. */
  endpoints?: AttachedEndpoint[];
  /** Set when the container joined the default bridge natively (native-bridge.ts): every start since issue 15. */
  native?: NativeNetworkState;
}

export const netnsNameFor = (id: string): string => `wharf-${id}`;
const IFNAME = 'eth0';

/** The host's resolv.conf: a small file, read synchronously (an async read cost ~4 ms of every start here). */
function hostResolv(req: NetworkRequest): string {
  if (req.hostResolvConf !== undefined) return req.hostResolvConf;
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

/** The container's /etc/hosts: its own names, its address on the bridge (when it has one), and `--add-host`s. */
function hostsFor(req: NetworkRequest, ip?: string): string {
  return hostsFileContent({
    hostname: req.hostname,
    ...(ip !== undefined ? { ip } : {}),
    ...(req.extraHosts !== undefined ? { extraHosts: req.extraHosts } : {}),
    ...(req.domainname !== undefined ? { domainname: req.domainname } : {}),
  });
}

/**
 * Give a container its network: nothing for `host`; for `none` runc's fresh namespace (loopback only); for `bridge` a
 * namespace joined to the bridge natively (native-bridge.ts) with the published ports; on user-defined networks one
 * endpoint per network (endpoint.ts). A taken host port is a CONFLICT found before anything is created; a failure
 * half-way undoes what was done.
 */
export async function setupNetwork(req: NetworkRequest): Promise<NetworkSetup> {
  const pluginDir = req.pluginDir ?? DEFAULT_CNI_PLUGIN_DIR;
  const resolvText = hostResolv(req);
  if (req.mode === 'host') {
    return {
      id: req.id,
      mode: 'host',
      ports: [],
      hosts: hostsFor(req),
      resolvConf: resolvConfContent(resolvText, { ...req.dns, hostNetwork: true }),
      warnings: req.ports?.length ? ['Published ports are discarded when using host network mode'] : [],
    };
  }
  if (req.mode === 'none') {
    // runc's own new namespace already has loopback up: no named namespace, no CNI call (both cost forks that
    // `run --network none` would pay on its critical path).
    return {
      id: req.id,
      mode: 'none',
      ports: [],
      hosts: hostsFor(req),
      resolvConf: resolvConfContent(resolvText, req.dns),
      warnings: req.ports?.length ? ['Published ports are discarded when using network mode none'] : [],
    };
  }
  // Choosing host ports and publishing them (portmap's rules, added with the network) is one step under a lock.
  const wanted = req.ports ?? [];
  const make = req.userNetworks && req.mode !== 'bridge' ? userNetworks : bridgeWithUserNetworks;
  return wanted.length
    ? withPortLock(() => make(req, wanted, resolvText, pluginDir))
    : make(req, [], resolvText, pluginDir);
}

async function bridgeNetwork(
  req: NetworkRequest,
  wanted: PortMapping[],
  resolvText: string,
  pluginDir: string,
): Promise<NetworkSetup> {
  trace('net setup');
  const ports = await allocateRandomPorts(wanted);
  await checkPortsFree(ports);
  const name = netnsNameFor(req.id);
  // Natively (netlink, one iptables-restore); through the CNI plugins only where the netlink addon is not built
  // (WHARF_NATIVE=0, or no C compiler at install).
  if (netlinkAvailable()) {
    const n = await nativeBridgeSetup({
      id: req.id,
      netnsName: name,
      ifName: IFNAME,
      ports,
      ...(req.userns ? { userns: req.userns } : {}),
      ...(req.mac ? { mac: req.mac } : {}),
      ...(req.network ? { network: req.network } : {}),
    });
    trace('net up');
    return {
      id: req.id,
      mode: req.mode,
      netnsName: name,
      netnsPath: n.netnsPath,
      ports,
      ip: n.ip,
      prefixLength: n.prefixLength,
      gateway: n.gateway,
      mac: n.mac,
      hosts: hostsFor(req, n.ip),
      resolvConf: resolvConfContent(resolvText, req.dns),
      warnings: [],
      native: n.state,
    };
  }
  const nsPath = await createNetns(name, req.userns);
  const rt = {
    containerId: req.id,
    netns: nsPath,
    ifName: IFNAME,
    pluginDir,
    portMappings: ports,
    ...(req.mac ? { mac: req.mac } : {}),
  };
  try {
    await invokePlugin('ADD', loopbackConf(), { ...rt, ifName: 'lo' });
    const base: NetworkSetup = {
      id: req.id,
      mode: req.mode,
      netnsName: name,
      netnsPath: nsPath,
      ports,
      hosts: '',
      resolvConf: resolvConfContent(resolvText, req.dns),
      warnings: [],
    };
    const conflist = bridgeConflist(req.network);
    const result = await addNetworkList(conflist, rt);
    const ipEntry = result.ips?.find((i) => !i.address.includes(':')) ?? result.ips?.[0];
    const [ip, prefix] = ipEntry ? ipEntry.address.split('/') : [];
    const iface = result.interfaces?.find((i) => i.name === IFNAME && i.sandbox);
    const setup: NetworkSetup = {
      ...base,
      ...(ip !== undefined ? { ip } : {}),
      ...(prefix !== undefined ? { prefixLength: Number(prefix) } : {}),
      ...(ipEntry?.gateway !== undefined ? { gateway: ipEntry.gateway } : {}),
      ...(iface?.mac !== undefined ? { mac: iface.mac } : {}),
      cni: { conflist, result, ifName: IFNAME, pluginDir },
    };
    setup.hosts = hostsFor(req, ip);
    trace('net up');
    return setup;
  } catch (err) {
    await deleteNetns(name).catch(() => {});
    throw err;
  }
}

/** The default bridge, then the user-defined networks a bridge container was connected to, as eth1, eth2, … */
async function bridgeWithUserNetworks(
  req: NetworkRequest,
  wanted: PortMapping[],
  resolvText: string,
  pluginDir: string,
): Promise<NetworkSetup> {
  const setup = await bridgeNetwork(req, wanted, resolvText, pluginDir);
  if (!req.userNetworks?.length) return setup;
  const endpoints: AttachedEndpoint[] = [{ ifName: IFNAME } as AttachedEndpoint];
  try {
    for (const join of req.userNetworks) {
      endpoints.push(
        await attachEndpoint({
          containerId: req.id,
          netnsPath: setup.netnsPath!,
          ifName: nextIfName(endpoints),
          network: join.network,
          endpoint: join.endpoint,
        }),
      );
    }
  } catch (err) {
    await teardownNetwork(req.id, { ...setup, endpoints: endpoints.slice(1) }).catch(() => {});
    throw err;
  }
  return { ...setup, endpoints: endpoints.slice(1) };
}

/** The next free interface name in a container's namespace: eth0, eth1, … */
export function nextIfName(endpoints: ReadonlyArray<{ ifName: string }>): string {
  const used = new Set(endpoints.map((e) => e.ifName));
  let i = 0;
  while (used.has(`eth${i}`)) i++;
  return `eth${i}`;
}

/**
 * A namespace on user-defined networks: one interface per network (endpoint.ts), the ports published on the first,
 * and the first network's gateway as the resolver (aardvark-dns listens there; dns.ts), with the host's search
 * domains and options, as Docker's embedded resolver gets them.
 */
async function userNetworks(
  req: NetworkRequest,
  wanted: PortMapping[],
  resolvText: string,
  _pluginDir: string,
): Promise<NetworkSetup> {
  const ports = await allocateRandomPorts(wanted);
  await checkPortsFree(ports);
  const name = netnsNameFor(req.id);
  const nsPath = createNamespace(name, req.userns);
  const endpoints: AttachedEndpoint[] = [];
  try {
    for (const [i, join] of (req.userNetworks ?? []).entries()) {
      endpoints.push(
        await attachEndpoint({
          containerId: req.id,
          netnsPath: nsPath,
          ifName: nextIfName(endpoints),
          network: join.network,
          endpoint: join.endpoint,
          ...(i === 0 ? { ports } : {}),
          ...(req.mac && i === 0 ? { mac: req.mac } : {}),
        }),
      );
    }
  } catch (err) {
    // What was attached (its rules included), then the namespace.
    for (const [i, ep] of endpoints.entries())
      await detachEndpoint(req.id, nsPath, ep, i === 0 ? ports : []).catch(() => {});
    await removeNamespace(name, nsPath).catch(() => {});
    throw err;
  }
  const first = endpoints[0];
  const hostResolvOpts = resolvConfContent(resolvText, { ...req.dns, dns: [] });
  const keep = hostResolvOpts.split('\n').filter((l) => l.startsWith('search ') || l.startsWith('options '));
  const nameservers = first ? [first.gateway] : [];
  const search = req.dns?.dnsSearch?.length
    ? [`search ${req.dns.dnsSearch.join(' ')}`]
    : keep.filter((l) => l.startsWith('search'));
  const options = req.dns?.dnsOptions?.length
    ? [`options ${req.dns.dnsOptions.join(' ')}`]
    : keep.filter((l) => l.startsWith('options'));
  return {
    id: req.id,
    mode: req.mode,
    netnsName: name,
    netnsPath: nsPath,
    ...(first ? { ip: first.ip, prefixLength: first.prefixLength, gateway: first.gateway } : {}),
    ...(first?.mac ? { mac: first.mac } : {}),
    ports,
    hosts: hostsFor(req, first?.ip),
    resolvConf: [...search, ...nameservers.map((n) => `nameserver ${n}`), ...options, ''].join('\n'),
    warnings: [],
    endpoints,
  };
}

/**
 * Undo setupNetwork: the endpoints, the default bridge (its lease, veth and port rules; CNI DEL for an old record),
 * then the namespace. Idempotent; without a saved setup it still deletes by container ID what it can.
 */
export async function teardownNetwork(id: string, saved?: NetworkSetup): Promise<void> {
  if (saved?.mode === 'host' || saved?.mode.startsWith('container:')) return;
  // The IPv6 relay stops while the rules and interfaces go (neither needs the other); the container's address is
  // given back only once it is gone, as it forwards there.
  const relay = stopPortProxy(saved?.proxyPid, id);
  try {
    await teardownWithRelay(id, saved, relay);
  } finally {
    await relay;
  }
}

async function teardownWithRelay(id: string, saved: NetworkSetup | undefined, relay: Promise<void>): Promise<void> {
  // `none` lives in runc's own namespace, which goes with the container (older records name a namespace).
  if (saved?.mode === 'none' && !saved.netnsName) return;
  const name = saved?.netnsName ?? netnsNameFor(id);
  const nsPath = saved?.netnsPath ?? netnsPath(name);
  let first: unknown;
  // User-defined networks' interfaces first (endpoint.ts), whichever way the default bridge was joined.
  // On `bridge` the ports are the default bridge's (eth0); on a user network the first endpoint's.
  const portsOnEndpoints = saved?.mode !== 'bridge';
  for (const [i, ep] of (saved?.endpoints ?? []).entries()) {
    try {
      await detachEndpoint(id, nsPath, ep, i === 0 && portsOnEndpoints ? saved?.ports : []);
    } catch (err) {
      first ??= err;
    }
  }
  // Without its record, a container that joined natively is known by its veth (named after its ID).
  const native = saved?.native ?? (saved ? undefined : nativeLeftovers(id, IFNAME, nsPath));
  if (native) {
    await nativeBridgeTeardown(id, name, nsPath, saved?.ports, native, relay);
    if (first) throw first;
    return;
  }
  await relay;
  if (saved?.cni || !saved) {
    const conflist = saved?.cni?.conflist ?? bridgeConflist();
    try {
      await delNetworkList(
        conflist,
        {
          containerId: id,
          netns: nsPath,
          ifName: saved?.cni?.ifName ?? IFNAME,
          pluginDir: saved?.cni?.pluginDir ?? DEFAULT_CNI_PLUGIN_DIR,
          portMappings: saved?.ports ?? [],
        },
        saved?.cni?.result,
      );
    } catch (err) {
      first = err;
    }
  }
  try {
    await removeNamespace(name, nsPath);
  } catch (err) {
    first ??= err;
  }
  if (first) {
    throw first instanceof WharfError
      ? first
      : new WharfError('INTERNAL', `network teardown of ${id}: ${String(first)}`, { cause: first });
  }
}

/** Remove a container's namespace: natively when the addon is there (no `ip netns delete` exec). Idempotent. */
async function removeNamespace(name: string, nsPath: string): Promise<void> {
  if (netlinkAvailable()) netnsDelete(nsPath);
  else await deleteNetns(name);
}

/**
 * The interface indexes of the host ends of a container's veth pairs, for its monitor to delete as soon as the
 * container is gone (native/monitor/links.c): the teardown then finds them gone instead of waiting 15-40 ms for the
 * kernel's deletion. It still deletes them itself when they are not (by name: teardownNetwork).
 */
export function hostLinkIndexes(setup: NetworkSetup | undefined): number[] {
  const all = [setup?.native?.hostIndex, ...(setup?.endpoints ?? []).map((e) => e.hostIndex)];
  return all.filter((i): i is number => typeof i === 'number' && i > 0);
}

/** How buildSpec should attach the container to this network. */
export function networkAttachment(setup: NetworkSetup): NetworkAttachment {
  if (setup.mode === 'none' && !setup.netnsPath) return { mode: 'new' };
  if (setup.mode === 'host' || !setup.netnsPath) return { mode: 'host' };
  return { mode: 'netns', path: setup.netnsPath };
}
