import { WharfError } from '../errors/index.js';
import { run } from '../util/index.js';

/**
 * A user-defined network's Linux bridge, made when the network is created (as dockerd makes `br-<id>`), with its
 * gateway addresses on it, so that the network's subnet is a host route from then on (another root, or dockerd,
 * then sees it taken) and the resolver can listen on the gateway before any container starts. One `ip -batch`.
 * It gets a fixed MAC address (`bridgeMac`), and its alias names the root that made it (`wharf:<tag>`), so that `system check` finds a root's leftovers.
 */
export async function createBridge(
  name: string,
  addresses: readonly string[],
  alias: string,
  mac: string,
): Promise<void> {
  const lines = [
    // A MAC address of its own: without one a bridge takes its lowest port's, and changes it when that port goes
    // (a disconnect), which left the other containers' ARP entries for the gateway pointing nowhere.
    `link add name ${name} address ${mac} type bridge`,
    `link set ${name} alias ${alias}`,
    // No duplicate address detection: the gateway would stay "tentative" (unusable) for a second or more.
    ...addresses.map((a) => `addr add ${a} dev ${name}${a.includes(':') ? ' nodad' : ''}`),
    `link set ${name} up`,
  ];
  const res = await run('ip', ['-batch', '-'], { input: `${lines.join('\n')}\n`, check: false });
  if (res.code !== 0) {
    if (/File exists/.test(res.stderr) && res.stderr.includes('link add'))
      throw new WharfError('CONFLICT', `cannot create network: bridge ${name} already exists`);
    await deleteBridge(name).catch(() => {});
    throw new WharfError('INTERNAL', `cannot create bridge ${name}: ${res.stderr.trim()}`);
  }
}

/** Remove the bridge (its veths are gone with the containers' namespaces); a missing bridge is no error. */
export async function deleteBridge(name: string): Promise<void> {
  const res = await run('ip', ['link', 'del', name], { check: false });
  if (res.code !== 0 && !/Cannot find device|does not exist/.test(res.stderr))
    throw new WharfError('INTERNAL', `cannot delete bridge ${name}: ${res.stderr.trim()}`);
}

/** The host's bridges with the alias `alias` (`ip -o link show type bridge`, which prints each link's alias). */
export async function bridgesWithAlias(alias: string): Promise<string[]> {
  const res = await run('ip', ['-o', 'link', 'show', 'type', 'bridge'], { check: false });
  if (res.code !== 0) return [];
  return res.stdout
    .split('\n')
    .filter((l) => l.includes(`alias ${alias}`))
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

/** A locally administered unicast MAC address for a bridge, from its network's ID (hex). */
export function bridgeMac(id: string): string {
  return ['02', ...(id.slice(0, 10).match(/../g) ?? [])].join(':');
}
