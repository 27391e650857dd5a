import { existsSync } from 'node:fs';
import { run } from '../util/index.js';
import { defaultBridgeLeases } from './native-bridge.js';
import { hostIfNameFor } from './native-endpoint.js';
import { linkGet, netlinkAvailable } from './netlink.js';
import { netnsPath } from './netns.js';
import { ruleComment } from './port-rules.js';
import { netnsNameFor } from './setup.js';

/**
 * `system check`'s view of what the native network path leaves on the host per container: its namespace
 * (/var/run/netns/wharf-<id>), the host ends of its veth pairs (named after its ID, hostIfNameFor), its lease on the
 * default bridge and the published-port rules carrying its comment. Only a container the caller knows to be stopped
 * is asked about: the host is shared by every Wharf root, and another root's running container looks the same.
 */
export interface HostNetworkState {
  /** `iptables -t nat -S`, read once per check. */
  natRules: string;
  /** Container IDs holding a lease on the default bridge. */
  leases: Set<string>;
}

export async function readHostNetworkState(): Promise<HostNetworkState> {
  const nat = await run('iptables', ['-w', '-t', 'nat', '-S'], { check: false });
  return {
    natRules: nat.code === 0 ? nat.stdout : '',
    leases: new Set(defaultBridgeLeases().map((l) => l.containerId)),
  };
}

/** What of container `id`'s network is still on the host (empty: nothing). `ifNames`: its interfaces' names. */
export function networkLeftovers(id: string, ifNames: readonly string[], host: HostNetworkState): string[] {
  const found: string[] = [];
  if (existsSync(netnsPath(netnsNameFor(id)))) found.push(`network namespace ${netnsNameFor(id)}`);
  if (netlinkAvailable())
    for (const ifName of new Set(['eth0', ...ifNames])) {
      const veth = hostIfNameFor(id, ifName);
      if (linkGet(veth)) found.push(`veth ${veth}`);
    }
  if (host.leases.has(id)) found.push('an address lease on the default bridge');
  if (host.natRules.includes(ruleComment(id))) found.push('published-port rules');
  return found;
}
