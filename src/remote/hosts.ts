import { DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN } from '../reference/index.js';
import { isIP } from '../util/index.js';

/** Docker Hub's registry API host; `docker.io` names are served there. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
/** The key Docker (and so we) file Docker Hub credentials under in config.json. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';
/** Docker Hub's search API lives on the old index host. */
export const DOCKER_HUB_INDEX_HOST = 'index.docker.io';

/** How to reach one registry: where its API is, where its credentials are filed, and whether plain HTTP is allowed. */
export interface RegistryEndpoint {
  /** The registry as named in references: 'docker.io', 'localhost:5000', 'ghcr.io'. */
  domain: string;
  /** host[:port] of the /v2/ API. */
  apiHost: string;
  /** The config.json `auths` key for this registry. */
  authKey: string;
  /** Plain HTTP (and TLS without verification) are allowed, as for Docker's insecure registries. */
  insecure: boolean;
}

export interface EndpointOptions {
  /** host[:port] or IPv4/IPv6 CIDR entries, as Docker's `insecure-registries`. */
  insecureRegistries?: readonly string[];
}

/** Splits 'host:port', '[::1]:5000', '::1' into host and optional port. */
export function splitHostPort(hostPort: string): { host: string; port?: string } {
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']');
    const host = hostPort.slice(1, end < 0 ? undefined : end);
    const rest = end < 0 ? '' : hostPort.slice(end + 1);
    return rest.startsWith(':') ? { host, port: rest.slice(1) } : { host };
  }
  const colons = hostPort.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = hostPort.split(':');
    return { host: host!, port: port! };
  }
  return { host: hostPort };
}

/** localhost, 127.0.0.0/8 and ::1: Docker lets these speak plain HTTP without configuration. */
export function isLoopbackHost(hostPort: string): boolean {
  const { host } = splitHostPort(hostPort);
  const h = host.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
}

function inCidr(host: string, cidr: string): boolean {
  const [net, bitsRaw] = cidr.split('/');
  const bits = Number(bitsRaw);
  if (isIP(host) !== 4 || isIP(net ?? '') !== 4 || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (ipv4ToInt(host) & mask) === (ipv4ToInt(net!) & mask);
}

/** Whether `domain` matches an insecure-registries entry (exact host:port, host for any port, or a CIDR). */
export function isListedInsecure(domain: string, entries: readonly string[]): boolean {
  const { host } = splitHostPort(domain);
  for (const raw of entries) {
    const e = raw
      .trim()
      .replace(/^https?:\/\//, '')
      .replace(/\/+$/, '');
    if (e === '') continue;
    if (e.includes('/')) {
      if (inCidr(host, e)) return true;
      continue;
    }
    if (e === domain) return true;
    const ep = splitHostPort(e);
    if (ep.port === undefined && ep.host === host) return true;
  }
  return false;
}

/** Where a reference's registry is served, following Docker's special cases for Docker Hub. */
export function endpointFor(domain: string, opts: EndpointOptions = {}): RegistryEndpoint {
  const d =
    domain === LEGACY_DEFAULT_DOMAIN || domain === DOCKER_HUB_API_HOST || domain === '' ? DEFAULT_DOMAIN : domain;
  if (d === DEFAULT_DOMAIN) {
    return { domain: d, apiHost: DOCKER_HUB_API_HOST, authKey: DOCKER_HUB_AUTH_KEY, insecure: false };
  }
  const insecure = isLoopbackHost(d) || isListedInsecure(d, opts.insecureRegistries ?? []);
  return { domain: d, apiHost: d, authKey: d, insecure };
}

/**
 * The registry a `login`/`logout` argument names: 'localhost:5000', 'https://ghcr.io', 'https://index.docker.io/v1/',
 * or nothing (Docker Hub).
 */
export function registryFromServerArg(server: string | undefined): string {
  if (server === undefined || server.trim() === '') return DEFAULT_DOMAIN;
  let s = server.trim().replace(/^https?:\/\//, '');
  s = s.split('/')[0]!;
  if (s === LEGACY_DEFAULT_DOMAIN || s === DOCKER_HUB_API_HOST || s === DEFAULT_DOMAIN) return DEFAULT_DOMAIN;
  return s;
}

/** The host:port part of a config.json `auths` key ('https://host:5000/v1/' → 'host:5000'). */
export function normalizeAuthKey(key: string): string {
  const s = key
    .trim()
    .replace(/^https?:\/\//, '')
    .split('/')[0]!;
  if (s === LEGACY_DEFAULT_DOMAIN || s === DOCKER_HUB_API_HOST || s === DEFAULT_DOMAIN) return DEFAULT_DOMAIN;
  return s;
}

/**
 * What `search TERM` asks and where: 'localhost:5000/busy' searches that registry for 'busy'; a term without a
 * registry searches Docker Hub's index.
 */
export function searchTarget(term: string, opts: EndpointOptions = {}): { endpoint: RegistryEndpoint; query: string } {
  const slash = term.indexOf('/');
  if (slash > 0) {
    const first = term.slice(0, slash);
    if (first === 'localhost' || /[.:]/.test(first)) {
      const domain = first === LEGACY_DEFAULT_DOMAIN || first === DEFAULT_DOMAIN ? DEFAULT_DOMAIN : first;
      if (domain !== DEFAULT_DOMAIN) return { endpoint: endpointFor(domain, opts), query: term.slice(slash + 1) };
      term = term.slice(slash + 1);
    }
  }
  return {
    endpoint: { domain: DEFAULT_DOMAIN, apiHost: DOCKER_HUB_INDEX_HOST, authKey: DOCKER_HUB_AUTH_KEY, insecure: false },
    query: term,
  };
}

/**
 * The TLS rule of one client: certificates are verified everywhere, except on an insecure registry's own host and
 * everywhere under `--tls-verify=false`. A redirect to storage on another host is verified even for an insecure
 * registry.
 */
export function tlsVerifyFor(endpoint: RegistryEndpoint, tlsVerify: boolean | undefined): (url: URL) => boolean {
  return (url) => {
    if (tlsVerify === false) return false;
    if (!endpoint.insecure) return true;
    return new URL(`${url.protocol}//${endpoint.apiHost}/`).host !== url.host;
  };
}
