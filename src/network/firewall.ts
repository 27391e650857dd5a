/**
 * The static firewall rules of a root's user-defined networks, as dockerd's bridge driver writes them: masquerading
 * out of each non-internal network, isolation between networks (DOCKER-ISOLATION-STAGE-1/2's two stages) and
 * `--internal` networks cut off from everything but themselves. One set of chains per root (its tag in the chain
 * names), rebuilt from the network records in one `iptables-restore --noflush` batch per family whenever a network is
 * created or removed (declaring a chain in the batch flushes it), and deleted with the root's last network. Nothing
 * here runs per container: a start adds no rule but portmap's for its published ports.
 */
import { WharfError } from '../errors/index.js';
import { run } from '../util/index.js';

/** A bridge as the rules see it. */
export interface FirewallNetwork {
  bridge: string;
  subnet4: string;
  subnet6?: string | undefined;
  internal: boolean;
}

export interface FirewallChains {
  forward: string;
  iso1: string;
  iso2: string;
  postrouting: string;
}

/** A root's short stable tag (FNV-1a of its path: no node:crypto loaded into every command for it). */
export function rootTag(root: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < root.length; i++) h = Math.imul(h ^ root.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** The chain names of a root: `WHARF-FWD-<8 hex of the root path>` and so on (28 characters at most). */
export function chainsFor(root: string): FirewallChains {
  const tag = rootTag(root);
  return {
    forward: `WHARF-FWD-${tag}`,
    iso1: `WHARF-ISO1-${tag}`,
    iso2: `WHARF-ISO2-${tag}`,
    postrouting: `WHARF-NAT-${tag}`,
  };
}

/**
 * The `iptables-restore --noflush` text of one family for `networks` (and the default bridge, isolated from them
 * as Docker isolates docker0), given which jumps exist already. With no networks: the chains removed.
 */
export function firewallBatch(
  family: 4 | 6,
  chains: FirewallChains,
  networks: readonly FirewallNetwork[],
  defaultBridge: string | undefined,
  present: { forwardJump: boolean; natJump: boolean; chains: ReadonlySet<string> },
): string {
  const filter: string[] = ['*filter'];
  const nat: string[] = ['*nat'];
  const all = [chains.forward, chains.iso1, chains.iso2];
  if (networks.length === 0) {
    if (present.forwardJump) filter.push(`-D FORWARD -j ${chains.forward}`);
    for (const c of all) if (present.chains.has(c)) filter.push(`:${c} - [0:0]`);
    for (const c of all) if (present.chains.has(c)) filter.push(`-X ${c}`);
    if (present.natJump) nat.push(`-D POSTROUTING -j ${chains.postrouting}`);
    if (present.chains.has(chains.postrouting)) nat.push(`:${chains.postrouting} - [0:0]`, `-X ${chains.postrouting}`);
    return [...filter, 'COMMIT', ...nat, 'COMMIT', ''].join('\n');
  }
  for (const c of all) filter.push(`:${c} - [0:0]`);
  nat.push(`:${chains.postrouting} - [0:0]`);
  if (!present.forwardJump) filter.push(`-I FORWARD 1 -j ${chains.forward}`);
  if (!present.natJump) nat.push(`-I POSTROUTING 1 -j ${chains.postrouting}`);
  filter.push(`-A ${chains.forward} -j ${chains.iso1}`);
  const bridges = [...networks];
  if (defaultBridge) bridges.push({ bridge: defaultBridge, subnet4: '', internal: false });
  for (const n of bridges) {
    if (n.internal) {
      filter.push(`-A ${chains.iso1} -i ${n.bridge} ! -o ${n.bridge} -j DROP`);
      filter.push(`-A ${chains.iso1} -o ${n.bridge} ! -i ${n.bridge} -j DROP`);
    } else {
      filter.push(`-A ${chains.iso1} -i ${n.bridge} ! -o ${n.bridge} -j ${chains.iso2}`);
      filter.push(`-A ${chains.iso2} -o ${n.bridge} -j DROP`);
    }
  }
  for (const n of networks) {
    const subnet = family === 4 ? n.subnet4 : n.subnet6;
    if (!subnet) continue;
    filter.push(`-A ${chains.forward} -i ${n.bridge} -o ${n.bridge} -j ACCEPT`);
    if (n.internal) continue;
    filter.push(`-A ${chains.forward} -o ${n.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
    filter.push(`-A ${chains.forward} -i ${n.bridge} ! -o ${n.bridge} -j ACCEPT`);
    nat.push(`-A ${chains.postrouting} -s ${subnet} ! -o ${n.bridge} -j MASQUERADE`);
  }
  return [...filter, 'COMMIT', ...nat, 'COMMIT', ''].join('\n');
}

/** Which of a root's jumps and chains exist (from `iptables-save` of the filter and nat tables). */
export function presentRules(
  save: string,
  chains: FirewallChains,
): {
  forwardJump: boolean;
  natJump: boolean;
  chains: Set<string>;
} {
  const lines = save.split('\n');
  const names = new Set<string>();
  for (const l of lines) if (l.startsWith(':')) names.add(l.slice(1).split(' ')[0]!);
  return {
    forwardJump: lines.some((l) => l === `-A FORWARD -j ${chains.forward}`),
    natJump: lines.some((l) => l === `-A POSTROUTING -j ${chains.postrouting}`),
    chains: new Set(Object.values(chains).filter((c) => names.has(c))),
  };
}

/**
 * Bring one family's rules to what `networks` need. IPv6 is skipped when the host has no ip6tables (or no IPv6
 * network needs it and none is left to remove).
 */
export async function syncFirewall(
  root: string,
  networks: readonly FirewallNetwork[],
  defaultBridge: string | undefined,
): Promise<void> {
  const chains = chainsFor(root);
  for (const family of [4, 6] as const) {
    const tool = family === 4 ? 'iptables' : 'ip6tables';
    const mine = family === 4 ? networks : networks.filter((n) => n.subnet6);
    const save = await run(`${tool}-save`, ['-t', 'filter'], { check: false });
    const saveNat = await run(`${tool}-save`, ['-t', 'nat'], { check: false });
    if (save.code !== 0 || saveNat.code !== 0) {
      if (family === 6 && mine.length === 0) continue;
      throw new WharfError('UNAVAILABLE', `${tool}-save failed: ${(save.stderr || saveNat.stderr).trim()}`);
    }
    const present = presentRules(`${save.stdout}\n${saveNat.stdout}`, chains);
    if (mine.length === 0 && !present.forwardJump && !present.natJump && present.chains.size === 0) continue;
    const text = firewallBatch(family, chains, mine, mine.length ? defaultBridge : undefined, present);
    const res = await run(`${tool}-restore`, ['-w', '--noflush'], { input: text, check: false });
    if (res.code !== 0)
      throw new WharfError('INTERNAL', `${tool}-restore of the network rules failed: ${res.stderr.trim()}`);
  }
}
