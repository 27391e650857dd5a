/**
 * dockerd's checks of `run`/`create`'s `--runtime`, `--storage-opt` and `--volume-driver` against what Wharf has: one
 * runtime (runc), overlay snapshots without project quotas, and the local volume driver. Pure but for
 * `backingFsOf`, which reads where a directory is mounted.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { WharfError } from '../errors/index.js';
import { isIP } from '../util/index.js';
import { parseBytes } from './mount-spec.js';

/** The runtime names Wharf runs containers with. */
export const RUNTIMES: readonly string[] = ['runc'];

/** `--runtime`: dockerd 28's refusal of a runtime it does not have configured. */
export function checkRuntime(name: string | undefined): string {
  if (name === undefined || name === '') return 'runc';
  if (!RUNTIMES.includes(name)) throw new WharfError('INVALID_ARGUMENT', `unknown or invalid runtime name: ${name}`);
  return name;
}

/** The file system a directory lives on: its type and its super-block options (mountinfo's last field). */
export interface BackingFs {
  type: string;
  options: string[];
}

/**
 * `--storage-opt`: dockerd's overlay2 driver takes only `size`, and only over XFS mounted with project quotas
 * (`pquota`/`prjquota`), checked first whenever `size` is asked. Wharf's snapshots set no project quota, so on such
 * a file system the size is refused too, in one line that says so. Any other key is the driver's "Unknown option".
 */
export function checkStorageOpts(opts: Record<string, string>, backing: () => BackingFs): void {
  if ('size' in opts) {
    const fs = backing();
    const quota = fs.type === 'xfs' && fs.options.some((o) => o === 'prjquota' || o === 'pquota');
    if (!quota)
      throw new WharfError(
        'INVALID_ARGUMENT',
        "--storage-opt is supported only for overlay over xfs with 'pquota' mount option",
      );
    parseBytes(opts.size!);
    throw new WharfError(
      'UNSUPPORTED',
      '--storage-opt size: Wharf does not set XFS project quotas on its snapshots (the file system would allow it)',
    );
  }
  for (const k of Object.keys(opts)) throw new WharfError('INVALID_ARGUMENT', `Unknown option ${k}`);
}

/**
 * `--volume-driver`: the driver of the volumes the container creates (named and anonymous `-v`, image VOLUMEs).
 * Only `local` exists here: another one is dockerd's plugin lookup failure, once a volume needs it.
 */
export function checkVolumeDriver(driver: string | undefined, createsVolumes: boolean): void {
  if (!driver || driver === 'local' || !createsVolumes) return;
  throw unknownVolumeDriver(driver);
}

/** dockerd's answer for a volume driver other than `local` (it looks for a plugin; Wharf has none), `create NAME: …`. */
export function unknownVolumeDriver(driver: string, volume?: string): WharfError {
  const msg = `error looking up volume plugin ${driver}: plugin "${driver}" not found`;
  return new WharfError('NOT_FOUND', volume ? `create ${volume}: ${msg}` : msg);
}

/** The mount a path is on, from /proc/self/mountinfo (the longest mount point that contains it). */
export function backingFsOf(dir: string): BackingFs {
  const real = realpathSync.native(dir);
  let best: { point: string; fs: BackingFs } | undefined;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const point = left.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    const inside = point === '/' || real === point || real.startsWith(`${point}/`);
    if (!inside || (best && best.point.length > point.length)) continue;
    const [type = '', , superOpts = ''] = right.split(' ');
    best = { point, fs: { type, options: superOpts.split(',') } };
  }
  return best?.fs ?? { type: '', options: [] };
}

/** `--ip`/`--ip6`/`--link-local-ip`: the endpoint addressing asked for on the container's one network. */
export interface EndpointAddressing {
  IPv4Address?: string;
  IPv6Address?: string;
  LinkLocalIPs?: string[];
}

/** dockerd 20.10's create-time check of `--ip`/`--ip6` (verifyNetworkingConfig): each must be of its family. */
export function checkEndpointAddresses(a: EndpointAddressing): void {
  if (a.IPv4Address && isIP(a.IPv4Address) !== 4)
    throw new WharfError('INVALID_ARGUMENT', `invalid IPv4 address: ${a.IPv4Address}`);
  if (a.IPv6Address && isIP(a.IPv6Address) !== 6)
    throw new WharfError('INVALID_ARGUMENT', `invalid IPv6 address: ${a.IPv6Address}`);
}

/**
 * dockerd 20.10's start-time check of the addressing against the network (validateNetworkingConfig). bridge, host
 * and none are predefined networks: a fixed address is refused on each; link-local addresses only have to parse
 * (Go's `%s` of the bad ones: `[a b]`), and are otherwise ignored as Docker ignores them there.
 */
export function checkAddressingOnPredefinedNetwork(a: EndpointAddressing): void {
  if (a.IPv4Address || a.IPv6Address)
    throw new WharfError('INVALID_ARGUMENT', 'user specified IP address is supported on user defined networks only');
  const bad = (a.LinkLocalIPs ?? []).filter((ip) => isIP(ip) === 0 || ip === '0.0.0.0' || /^[0:]+$/.test(ip));
  if (bad.length) throw new WharfError('INVALID_ARGUMENT', `Invalid link-local IP address: [${bad.join(' ')}]`);
}

/** `--link NAME[:ALIAS]`: the container and the alias (the name itself without one). */
export function splitLink(spec: string): { name: string; alias: string } {
  const [name = '', alias] = spec.split(':');
  return { name, alias: alias ?? name };
}

/** dockerd's refusal of links on host networking (before it looks at the linked containers). */
export function checkLinksAllowed(network: string, links: readonly string[]): void {
  if (network === 'host' && links.length)
    throw new WharfError(
      'INVALID_ARGUMENT',
      "conflicting options: host type networking can't be used with links. This would result in undefined behavior",
    );
}

/** HostConfig.Links as Docker records them: `/target:/container/alias`. */
export function linkEntry(target: string, container: string, alias: string): string {
  return `/${target}:/${container}/${alias}`;
}

/** The parts of a HostConfig.Links entry: target name, and alias (both without slashes). */
export function parseLinkEntry(entry: string): { target: string; alias: string } {
  const [t = '', c = ''] = entry.split(':');
  return { target: t.replace(/^\//, ''), alias: c.slice(c.lastIndexOf('/') + 1) };
}

/**
 * The endpoint options of a create (`--ip`, `--ip6`, `--link-local-ip`, `--link`), checked as dockerd checks them
 * at create: the addresses' syntax, links refused on the host network, each link's target existing (`resolve` gives
 * its name). The addresses themselves are refused at start on the predefined networks (bundle.ts).
 */
export function checkEndpointOptions(
  opts: { ipv4Address?: string; ipv6Address?: string; linkLocalIPs?: string[]; links?: string[] },
  network: string,
  resolve: (name: string) => string | undefined,
): { addressing: EndpointAddressing; linked: Array<{ target: string; alias: string }> } {
  const addressing: EndpointAddressing = {
    ...(opts.ipv4Address ? { IPv4Address: opts.ipv4Address } : {}),
    ...(opts.ipv6Address ? { IPv6Address: opts.ipv6Address } : {}),
    ...(opts.linkLocalIPs?.length ? { LinkLocalIPs: opts.linkLocalIPs } : {}),
  };
  checkEndpointAddresses(addressing);
  checkLinksAllowed(network, opts.links ?? []);
  const linked = (opts.links ?? []).map((spec) => {
    const { name: target, alias } = splitLink(spec);
    const name = resolve(target);
    if (name === undefined)
      throw new WharfError('NOT_FOUND', `could not get container for ${target}: No such container: ${target}`);
    return { target: name, alias };
  });
  return { addressing, linked };
}
