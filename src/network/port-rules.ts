import { isIPv6Address } from './ipam.js';
import type { PortMapping } from './publish.js';

/**
 * Pure: the iptables rules that publish a container's ports, as `iptables-restore --noflush` input, what the CNI
 * portmap plugin (with `snat: true`) adds, without its per-container chains and marks:
 * - DNAT of host port → container port in WHARF-HOSTPORTS, jumped to from PREROUTING and OUTPUT for local
 *   destinations (so 127.0.0.1 and the host's own addresses reach the port too);
 * - MASQUERADE in WHARF-HOSTPORTS-MASQ (from POSTROUTING) of what comes from 127.0.0.0/8 (route_localnet on the
 *   bridge lets it leave loopback; the container could not answer 127.0.0.1) and of the container reaching itself
 *   through its own published port (hairpin).
 * Every per-container rule carries the comment `wharf:<containerId>`, so a teardown that lost its record can still
 * find them. A port published on an IPv6 address is the relay's alone (port-proxy.ts), as with portmap.
 */

export const HOSTPORTS_CHAIN = 'WHARF-HOSTPORTS';
export const HOSTPORTS_MASQ_CHAIN = 'WHARF-HOSTPORTS-MASQ';

export interface PortRulesTarget {
  containerId: string;
  /** The container's IPv4 address on the bridge. */
  containerIP: string;
  ports: readonly PortMapping[];
}

/** The comment that marks a container's rules. */
export const ruleComment = (containerId: string): string => `wharf:${containerId}`;

/** The chains and their jumps, created once (declaring an existing chain in a --noflush batch would flush it). */
export function portChainsSetupBatch(): string {
  return [
    '*nat',
    `:${HOSTPORTS_CHAIN} - [0:0]`,
    `:${HOSTPORTS_MASQ_CHAIN} - [0:0]`,
    `-A PREROUTING -m addrtype --dst-type LOCAL -j ${HOSTPORTS_CHAIN}`,
    `-A OUTPUT -m addrtype --dst-type LOCAL -j ${HOSTPORTS_CHAIN}`,
    `-A POSTROUTING -j ${HOSTPORTS_MASQ_CHAIN}`,
    'COMMIT',
    '',
  ].join('\n');
}

/** The rule specs (after `-A CHAIN`), chain first, of one container's published ports. */
export function portRuleSpecs(t: PortRulesTarget): Array<[chain: string, spec: string]> {
  const c = `-m comment --comment ${ruleComment(t.containerId)}`;
  const out: Array<[string, string]> = [];
  const masqueraded = new Set<string>();
  for (const p of t.ports) {
    if (isIPv6Address(p.hostIP) || p.hostPort === 0) continue;
    const proto = `-p ${p.protocol} -m ${p.protocol}`;
    const dst = p.hostIP && p.hostIP !== '0.0.0.0' ? `-d ${p.hostIP}/32 ` : '';
    out.push([
      HOSTPORTS_CHAIN,
      `${dst}${proto} --dport ${p.hostPort} ${c} -j DNAT --to-destination ${t.containerIP}:${p.containerPort}`,
    ]);
    const key = `${p.protocol}/${p.containerPort}`;
    if (masqueraded.has(key)) continue; // two host ports to one container port need its SNAT rules once
    masqueraded.add(key);
    for (const src of [`${t.containerIP}/32`, '127.0.0.0/8'])
      out.push([
        HOSTPORTS_MASQ_CHAIN,
        `-s ${src} -d ${t.containerIP}/32 ${proto} --dport ${p.containerPort} ${c} -j MASQUERADE`,
      ]);
  }
  return out;
}

/** The batch that adds (`-A`) or deletes (`-D`) a container's rules; '' when it publishes nothing on IPv4. */
export function portRulesBatch(t: PortRulesTarget, op: 'add' | 'delete'): string {
  const specs = portRuleSpecs(t);
  if (specs.length === 0) return '';
  const flag = op === 'add' ? '-A' : '-D';
  return ['*nat', ...specs.map(([chain, spec]) => `${flag} ${chain} ${spec}`), 'COMMIT', ''].join('\n');
}

/**
 * The delete batch for whatever rules `iptables -t nat -S` shows with this container's comment (a teardown without
 * the record, or after a partial delete); '' when there are none.
 */
export function deleteBatchFromListing(iptablesS: string, containerId: string): string {
  // iptables -S prints the comment quoted ("wharf:ID"); accept it bare as well.
  const marks = [`--comment "${ruleComment(containerId)}" `, `--comment ${ruleComment(containerId)} `];
  const lines = iptablesS
    .split('\n')
    .filter((l) => l.startsWith('-A ') && marks.some((m) => `${l} `.includes(m)))
    .map((l) => `-D ${l.slice(3)}`);
  return lines.length ? ['*nat', ...lines, 'COMMIT', ''].join('\n') : '';
}
