/**
 * The one place where a container's interface on a user-defined network is made and removed: `attachEndpoint` and
 * `detachEndpoint`. Today through the CNI bridge plugin with the `static` IPAM plugin (the addresses come from
 * Wharf's own IPAM, network-records.ts) and portmap for the published ports of the container's first network; a
 * native netlink path can replace the plugin calls here without anything else changing.
 */
import { isIPv6 } from 'node:net';
import { addNetworkList, delNetworkList, DEFAULT_CNI_PLUGIN_DIR, type CniConflist, type CniResult } from './cni.js';
import { parseCidr } from './ipam.js';
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
  /** What detach needs to undo the attach. */
  cni: { conflist: CniConflist; result: CniResult; pluginDir: string };
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
  pluginDir?: string;
}

/** The CNI configuration of one endpoint: the network's bridge, the endpoint's fixed addresses, its routes. */
export function endpointConflist(req: AttachRequest): CniConflist {
  const net = req.network;
  const ep = req.endpoint;
  const addresses: Array<Record<string, string>> = [];
  const routes: Array<Record<string, string>> = [];
  const prefix4 = parseCidr(net.ipv4.subnet).prefix;
  if (ep.ip4) addresses.push({ address: `${ep.ip4}/${prefix4}`, gateway: net.ipv4.gateway });
  if (net.ipv6 && ep.ip6)
    addresses.push({ address: `${ep.ip6}/${parseCidr(net.ipv6.subnet).prefix}`, gateway: net.ipv6.gateway });
  // An internal network has no route out: only its own subnet, which the address itself routes.
  if (!net.internal) {
    routes.push({ dst: '0.0.0.0/0', gw: net.ipv4.gateway });
    if (net.ipv6) routes.push({ dst: '::/0', gw: net.ipv6.gateway });
  }
  const plugins: CniConflist['plugins'] = [
    {
      type: 'bridge',
      bridge: net.bridge,
      // The bridge and its gateway addresses exist since the network's creation (bridge-device.ts); masquerading
      // and forwarding are the network's static rules (firewall.ts), not per-container ones.
      isGateway: false,
      ipMasq: false,
      hairpinMode: true,
      ipam: { type: 'static', addresses, routes },
    },
  ];
  if (req.ports?.some((p) => !isIPv6(p.hostIP)))
    plugins.push({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
  return { cniVersion: '1.0.0', name: `wharf-${net.id.slice(0, 12)}`, plugins };
}

/** Make the container's interface on the network. On failure nothing is left (addNetworkList undoes itself). */
export async function attachEndpoint(req: AttachRequest): Promise<AttachedEndpoint> {
  const pluginDir = req.pluginDir ?? DEFAULT_CNI_PLUGIN_DIR;
  const conflist = endpointConflist(req);
  const result = await addNetworkList(conflist, {
    containerId: req.containerId,
    netns: req.netnsPath,
    ifName: req.ifName,
    pluginDir,
    portMappings: [...(req.ports ?? [])],
    ...(req.mac ? { mac: req.mac } : {}),
  });
  const iface = result.interfaces?.find((i) => i.name === req.ifName && i.sandbox);
  const net = req.network;
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
    ...(iface?.mac ? { mac: iface.mac } : {}),
    aliases: req.endpoint.aliases,
    cni: { conflist, result, pluginDir },
  };
}

/** Remove the interface (and its published ports' rules). Idempotent. */
export async function detachEndpoint(
  containerId: string,
  netnsPath: string,
  ep: AttachedEndpoint,
  ports: readonly PortMapping[] = [],
): Promise<void> {
  await delNetworkList(
    ep.cni.conflist,
    {
      containerId,
      netns: netnsPath,
      ifName: ep.ifName,
      pluginDir: ep.cni.pluginDir,
      portMappings: [...ports],
    },
    ep.cni.result,
  );
}
