import { shortId } from '../digest/index.js';
import { WharfError } from '../errors/index.js';
import { parseLinkEntry } from './create-checks.js';
import type { ContainerRecord, ObservedContainer } from './types.js';

/**
 * The environment a legacy `--link` gives a container (moby's links.Link.ToEnv): `ALIAS_NAME`, the linked
 * container's exposed ports as `ALIAS_PORT…` (when it has an address) and its own variables as `ALIAS_ENV_…`
 * (but HOME and PATH). Pure. Not done: the `_START`/`_END` variables Docker adds for runs of contiguous ports.
 */
export interface LinkedForEnv {
  /** The link's name, `/container/alias`. */
  linkName: string;
  alias: string;
  ip?: string | undefined;
  /** ExposedPorts keys: `80/tcp`. */
  ports: readonly string[];
  env: readonly string[];
}

export function linkEnv(l: LinkedForEnv): string[] {
  const a = l.alias.toUpperCase().replaceAll('-', '_');
  const env: string[] = [];
  // Lowest port first, tcp before another protocol of the same number (the default port is the first).
  const ports = l.ports
    .map((k) => {
      const [port = '', proto = 'tcp'] = k.split('/');
      return { port, proto };
    })
    .sort((x, y) => Number(x.port) - Number(y.port) || (x.proto === 'tcp' ? -1 : y.proto === 'tcp' ? 1 : 0));
  if (l.ip && ports.length) {
    env.push(`${a}_PORT=${ports[0]!.proto}://${l.ip}:${ports[0]!.port}`);
    for (const { port, proto } of ports) {
      const p = `${a}_PORT_${port}_${proto.toUpperCase()}`;
      env.push(`${p}=${proto}://${l.ip}:${port}`, `${p}_ADDR=${l.ip}`, `${p}_PORT=${port}`, `${p}_PROTO=${proto}`);
    }
  }
  env.push(`${a}_NAME=${l.linkName}`);
  for (const v of l.env) {
    const eq = v.indexOf('=');
    if (eq < 0) continue;
    const key = v.slice(0, eq);
    if (key === 'HOME' || key === 'PATH') continue;
    env.push(`${a}_ENV_${key}=${v.slice(eq + 1)}`);
  }
  return env;
}

/** Docker's ReplaceOrAppendEnvValues: the container's own variables win over the links' of the same name. */
export function withLinkEnv(linkVars: readonly string[], own: readonly string[]): string[] {
  const ownKeys = new Set(own.map((v) => v.split('=')[0]));
  return [...linkVars.filter((v) => !ownKeys.has(v.split('=')[0])), ...own];
}

/**
 * A starting container's `--link` targets, looked up once: what its /etc/hosts needs (linkedHosts below, which
 * refuses a target that is gone or not running) and the environment the links give it (none for a target gone).
 */
export async function resolveLinks(
  rec: Pick<ContainerRecord, 'name' | 'hostConfig'>,
  find: (name: string) => Promise<ObservedContainer | undefined>,
): Promise<{ lookup: LinkLookup; env: string[] }> {
  const entries = (rec.hostConfig.Links ?? []).map(parseLinkEntry);
  const linked = new Map<string, ObservedContainer>();
  for (const { target } of entries) {
    const other = await find(target);
    if (other) linked.set(target, other);
  }
  const lookup: LinkLookup = (name) => {
    const o = linked.get(name);
    return o && { name: o.name, hostname: o.config.Hostname ?? shortId(o.id), running: o.running, ip: o.network?.ip };
  };
  const env = entries.flatMap(({ target, alias }) => {
    const o = linked.get(target);
    if (!o) return [];
    const ports = Object.keys(o.config.ExposedPorts ?? {});
    return linkEnv({ linkName: `/${rec.name}/${alias}`, alias, ip: o.network?.ip, ports, env: o.config.Env ?? [] });
  });
  return { lookup, env };
}

/** A linked container as its links need it: undefined when it is gone. */
export type LinkLookup = (
  name: string,
) => { name: string; hostname: string; running: boolean; ip?: string | undefined } | undefined;

/**
 * `--link`s: dockerd's refusal of a linked container that does not run, then its /etc/hosts lines
 * (`IP alias hostname [name]`, the name only when it is not the alias).
 */
export function linkedHosts(rec: ContainerRecord, linked: LinkLookup): string[] {
  const lines: string[] = [];
  for (const entry of rec.hostConfig.Links ?? []) {
    const { target, alias } = parseLinkEntry(entry);
    const other = linked(target);
    if (!other?.running)
      throw new WharfError('CONFLICT', `Cannot link to a non running container: /${target} AS /${rec.name}/${alias}`);
    if (!other.ip) continue;
    lines.push(`${other.ip}\t${alias} ${other.hostname}${alias === other.name ? '' : ` ${other.name}`}`);
  }
  return lines;
}
