/**
 * The one place where a container's interface on a user-defined network is made and removed: `attachEndpoint` and
 * `detachEndpoint`, natively: the network's bridge ensured, a veth pair with its v4 (and v6) addresses and default
 * routes over netlink (native-endpoint.ts), and the published ports of the container's first network as one
 * iptables-restore batch (port-rules.ts). The addresses come from Wharf's own IPAM (network-records.ts). No CNI
 * plugin runs; a record from before (with `cni`) is still detached through CNI.
 */
import { delNetworkList, type CniConflist, type CniResult } from './cni.js';
import { parseCidr } from './ipam.js';
import {
  attachEndpoint as attachVeth,
  detachEndpoint as detachVeth,
  ensureBridge,
  publishPorts,
  unpublishPorts,
} from './native-endpoint.js';
import type { EndpointRecord, NetworkRecord } from './network-records.js';
import type { PortMapping } from './publish.js';

/** What an attach gave a container on one network; JSON-serialisable (kept in NetworkSetup.endpoints). */
export interface AttachedEndpoint {
  networkId: string;
  networkName: string;
  ifName: string;
  ip: string;
  prefixLength: number;
  gateway: string;
  ip6?: string;
  prefixLength6?: number;
  gateway6?: string;
  mac?: string;
  aliases: string[];
  /** The host end of the veth pair (native attach). */
  hostIfName?: string;
  /** Its interface index (native-endpoint.ts's Endpoint.hostIndex); not in records from before. */
  hostIndex?: number;
  /** Only in records of containers attached through the CNI bridge plugin (before the native path). */
  cni?: { conflist: CniConflist; result: CniResult; pluginDir: string };
}

export interface AttachRequest {
  containerId: string;
  netnsPath: string;
  ifName: string;
  network: NetworkRecord;
  endpoint: EndpointRecord;
  /** Published ports (on the container's first network only). */
  ports?: readonly PortMapping[];
  mac?: string;
}

/** Pure: the bridge's gateway addresses, the endpoint's addresses and its default gateways, in CIDR form. */
export function endpointAddressing(
  net: NetworkRecord,
  ep: EndpointRecord,
): { bridgeAddresses: string[]; addresses: string[]; gateways: string[] } {
  const p4 = parseCidr(net.ipv4.subnet).prefix;
  const bridgeAddresses = [`${net.ipv4.gateway}/${p4}`];
  const addresses: string[] = [];
  const gateways: string[] = [];
  if (ep.ip4) addresses.push(`${ep.ip4}/${p4}`);
  if (net.ipv6) {
    const p6 = parseCidr(net.ipv6.subnet).prefix;
    bridgeAddresses.push(`${net.ipv6.gateway}/${p6}`);
    if (ep.ip6) addresses.push(`${ep.ip6}/${p6}`);
  }
  // An internal network has no route out: only its own subnet, which the address itself routes.
  if (!net.internal) {
    gateways.push(net.ipv4.gateway);
    if (net.ipv6 && ep.ip6) gateways.push(net.ipv6.gateway);
  }
  return { bridgeAddresses, addresses, gateways };
}

/** Make the container's interface on the network. On failure nothing is left. */
export async function attachEndpoint(req: AttachRequest): Promise<AttachedEndpoint> {
  const net = req.network;
  const a = endpointAddressing(net, req.endpoint);
  // The bridge exists since the network's creation (bridge-device.ts); a reboot or a hand removed it: make it again.
  ensureBridge({ name: net.bridge, addresses: a.bridgeAddresses });
  const veth = attachVeth({
    containerId: req.containerId,
    netnsPath: req.netnsPath,
    ifName: req.ifName,
    bridge: net.bridge,
    addresses: a.addresses,
    gateways: a.gateways,
    hairpin: true,
    ...(req.mac ? { mac: req.mac } : {}),
  });
  const ports = req.ports ?? [];
  if (ports.length && req.endpoint.ip4) {
    try {
      await publishPorts({ containerId: req.containerId, containerIP: req.endpoint.ip4, bridge: net.bridge, ports });
    } catch (err) {
      await detachVeth({ containerId: req.containerId, ifName: req.ifName }).catch(() => {});
      throw err;
    }
  }
  return {
    networkId: net.id,
    networkName: net.name,
    ifName: req.ifName,
    ip: req.endpoint.ip4 ?? '',
    prefixLength: parseCidr(net.ipv4.subnet).prefix,
    gateway: net.ipv4.gateway,
    ...(net.ipv6 && req.endpoint.ip6
      ? { ip6: req.endpoint.ip6, prefixLength6: parseCidr(net.ipv6.subnet).prefix, gateway6: net.ipv6.gateway }
      : {}),
    mac: veth.mac,
    aliases: req.endpoint.aliases,
    hostIfName: veth.hostIfName,
    hostIndex: veth.hostIndex,
  };
}

/** Remove the interface (and its published ports' rules). Idempotent. */
export async function detachEndpoint(
  containerId: string,
  netnsPath: string,
  ep: AttachedEndpoint,
  ports: readonly PortMapping[] = [],
): Promise<void> {
  if (ep.cni) {
    await delNetworkList(
      ep.cni.conflist,
      { containerId, netns: netnsPath, ifName: ep.ifName, pluginDir: ep.cni.pluginDir, portMappings: [...ports] },
      ep.cni.result,
    );
    return;
  }
  let first: unknown;
  try {
    if (ports.length) await unpublishPorts({ containerId, containerIP: ep.ip, ports });
  } catch (err) {
    first = err;
  }
  // With the host end's index the pair is this module's (made natively): nothing to look for inside the namespace.
  await detachVeth({ containerId, ifName: ep.ifName, ...(ep.hostIndex === undefined ? { netnsPath } : {}) });
  if (first) throw first;
}
