import { WharfError } from '../errors/index.js';
import { isIP } from '../util/index.js';

export interface ExtraHost {
  name: string;
  ip: string;
}

/** `--add-host name:ip` (also `name=ip`); `host-gateway` stands for the bridge gateway. */
export function parseAddHost(spec: string, gateway?: string): ExtraHost {
  const sep = spec.includes('=') ? spec.indexOf('=') : spec.indexOf(':');
  if (sep <= 0) throw new WharfError('INVALID_ARGUMENT', `invalid --add-host "${spec}": expected name:ip`);
  const name = spec.slice(0, sep).trim();
  let ip = spec.slice(sep + 1).trim();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip === 'host-gateway') {
    if (!gateway) throw new WharfError('INVALID_ARGUMENT', `--add-host "${spec}": no gateway on this network`);
    ip = gateway;
  }
  if (isIP(ip) === 0)
    throw new WharfError('INVALID_ARGUMENT', `invalid --add-host "${spec}": "${ip}" is not an IP address`);
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(name)) {
    throw new WharfError('INVALID_ARGUMENT', `invalid --add-host "${spec}": "${name}" is not a host name`);
  }
  return { name, ip };
}

/** Docker's /etc/hosts for a container: the loopback and IPv6 defaults, extra hosts, then the container itself. */
export function hostsFileContent(opts: {
  hostname: string;
  ip?: string;
  extraHosts?: ExtraHost[];
  domainname?: string;
}): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const h of opts.extraHosts ?? []) lines.push(`${h.ip}\t${h.name}`);
  if (opts.ip) {
    const fqdn = opts.domainname ? `${opts.hostname}.${opts.domainname} ${opts.hostname}` : opts.hostname;
    lines.push(`${opts.ip}\t${fqdn}`);
  }
  return lines.join('\n') + '\n';
}

export interface ResolvConfOptions {
  /** `--dns`, replacing the host's nameservers. */
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** Host networking keeps the host's file as it is (loopback resolvers work there). */
  hostNetwork?: boolean;
}

const DEFAULT_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

/**
 * The container's resolv.conf from the host's, as Docker does: loopback nameservers (127.x, ::1) cannot be reached
 * from another network namespace and are dropped; with none left, Google's public resolvers are used.
 */
export function resolvConfContent(hostText: string, opts: ResolvConfOptions = {}): string {
  if (opts.hostNetwork && !opts.dns?.length && !opts.dnsSearch?.length && !opts.dnsOptions?.length) return hostText;
  const nameservers: string[] = [];
  const search: string[] = [];
  const options: string[] = [];
  const other: string[] = [];
  for (const raw of hostText.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const [key, ...vals] = line.split(/\s+/);
    if (key === 'nameserver' && vals[0]) nameservers.push(vals[0]);
    else if (key === 'search' || key === 'domain') search.splice(0, search.length, ...vals);
    else if (key === 'options') options.push(...vals);
    else other.push(line);
  }
  const isLoopback = (ip: string): boolean => ip.startsWith('127.') || ip === '::1';
  let servers = opts.dns?.length ? [...opts.dns] : nameservers.filter((n) => !isLoopback(n) || opts.hostNetwork);
  if (servers.length === 0) servers = [...DEFAULT_NAMESERVERS];
  for (const s of servers) {
    if (isIP(s.split('%')[0]!) === 0) throw new WharfError('INVALID_ARGUMENT', `invalid DNS server "${s}"`);
  }
  const searchOut = opts.dnsSearch?.length ? opts.dnsSearch.filter((s) => s !== '.') : search;
  const optionsOut = opts.dnsOptions?.length ? opts.dnsOptions : options;
  const out: string[] = [];
  if (searchOut.length) out.push(`search ${searchOut.join(' ')}`);
  for (const s of servers) out.push(`nameserver ${s}`);
  if (optionsOut.length) out.push(`options ${optionsOut.join(' ')}`);
  return out.join('\n') + '\n';
}
