import { DEFAULT_BRIDGE_NAME, DEFAULT_SUBNET } from './cni.js';
import type { EndpointRecord } from './network-records.js';
import { parseCidr } from './ipam.js';
import type { NetworkView } from './service.js';

/** A container on a network as `network inspect` lists it. */
export interface InspectedEndpoint {
  containerId: string;
  name: string;
  ip4?: string | undefined;
  ip6?: string | undefined;
  mac?: string | undefined;
}

/** `network inspect`'s document (Docker 28's keys, in its order). */
export function networkInspect(n: NetworkView, containers: readonly InspectedEndpoint[]): Record<string, unknown> {
  const r = n.record;
  const config: Array<Record<string, string>> = [];
  if (r) {
    for (const s of [r.ipv4, ...(r.ipv6 ? [r.ipv6] : [])])
      config.push({ Subnet: s.subnet, ...(s.ipRange ? { IPRange: s.ipRange } : {}), Gateway: s.gateway });
  } else if (n.name === 'bridge') config.push({ Subnet: DEFAULT_SUBNET }); // dockerd shows docker0's gateway only when configured
  const prefix = (family: 4 | 6): number =>
    family === 4 ? parseCidr(r?.ipv4.subnet ?? DEFAULT_SUBNET).prefix : r?.ipv6 ? parseCidr(r.ipv6.subnet).prefix : 0;
  // dockerd's endpoint IDs are their own; Wharf's are the container's ID and the network's, halves of each.
  const endpointId = (containerId: string): string =>
    r ? `${containerId.slice(0, 32)}${n.id.slice(0, 32)}` : containerId;
  const cs: Record<string, unknown> = {};
  for (const c of containers) {
    cs[c.containerId] = {
      Name: c.name,
      EndpointID: endpointId(c.containerId),
      MacAddress: c.mac ?? '',
      IPv4Address: c.ip4 ? `${c.ip4}/${prefix(4)}` : '',
      IPv6Address: c.ip6 ? `${c.ip6}/${prefix(6)}` : '',
    };
  }
  const options: Record<string, string> =
    r?.options ??
    (n.name === 'bridge'
      ? {
          'com.docker.network.bridge.default_bridge': 'true',
          'com.docker.network.bridge.enable_icc': 'true',
          'com.docker.network.bridge.enable_ip_masquerade': 'true',
          'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
          'com.docker.network.bridge.name': DEFAULT_BRIDGE_NAME,
          'com.docker.network.driver.mtu': '1500',
        }
      : {});
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: 'local',
    Driver: n.driver,
    EnableIPv4: n.name !== 'none' && n.name !== 'host',
    EnableIPv6: r?.ipv6 !== undefined,
    IPAM: { Driver: 'default', Options: r ? {} : null, Config: config },
    Internal: r?.internal ?? false,
    Attachable: r?.attachable ?? false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: cs,
    Options: options,
    Labels: r?.labels ?? {},
  };
}

/** The endpoints of a network as inspect lists them, with the containers' names from `nameOf`. */
export function inspectedEndpoints(
  eps: readonly EndpointRecord[],
  nameOf: (id: string) => string | undefined,
): InspectedEndpoint[] {
  return eps.map((e) => ({
    containerId: e.containerId,
    name: nameOf(e.containerId) ?? e.names[0] ?? '',
    ip4: e.ip4,
    ip6: e.ip6,
    mac: e.mac,
  }));
}
