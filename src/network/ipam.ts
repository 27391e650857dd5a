/**
 * Wharf's own address management, pure: CIDR arithmetic for both families (as bigints), subnets carved from
 * Docker's default address pools without overlap, the host's routes as /proc shows them, and the first free address
 * of a subnet. The database keeps what is taken (network-records.ts); this module only computes.
 */
import { WharfError } from '../errors/index.js';
import { isIP } from '../util/index.js';

export interface Cidr {
  family: 4 | 6;
  /** The network address (host bits cleared). */
  base: bigint;
  prefix: number;
}

/** An address pool and the size of the subnets carved from it (Docker's `default-address-pools`). */
export interface AddressPool {
  base: string;
  size: number;
}

/** dockerd's default pools (libnetwork/ipamutils): 172.17-31/16 as /16s, then 192.168/16 as /20s. */
export const DEFAULT_POOLS: readonly AddressPool[] = [
  { base: '172.17.0.0/16', size: 16 },
  { base: '172.18.0.0/16', size: 16 },
  { base: '172.19.0.0/16', size: 16 },
  { base: '172.20.0.0/14', size: 16 },
  { base: '172.24.0.0/14', size: 16 },
  { base: '172.28.0.0/14', size: 16 },
  { base: '192.168.0.0/16', size: 20 },
];

const bits = (family: 4 | 6): number => (family === 4 ? 32 : 128);

/**
 * Whether an address already known to be valid (parsed by publish.ts, chosen by this module, read from a record) is
 * an IPv6 one: it is exactly when it has a colon. For such addresses instead of node:net's isIPv6, which compiles a
 * large regular expression on its first call: ~4 ms of CPU on a start's critical path (`node --cpu-prof`).
 */
export const isIPv6Address = (ip: string): boolean => ip.includes(':');

export function parseIp(ip: string): { family: 4 | 6; value: bigint } {
  const family = isIP(ip);
  if (family === 4) {
    const v = ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
    return { family: 4, value: v };
  }
  if (family === 6) {
    const [head = '', tail] = ip.split('::');
    const part = (s: string): string[] => (s === '' ? [] : s.split(':'));
    let groups = part(head);
    let rest = tail === undefined ? [] : part(tail);
    // An embedded IPv4 tail (::ffff:1.2.3.4) as two groups.
    const fix = (gs: string[]): string[] =>
      gs.flatMap((g) => {
        if (!g.includes('.')) return [g];
        const v = parseIp(g).value;
        return [(v >> 16n).toString(16), (v & 0xffffn).toString(16)];
      });
    groups = fix(groups);
    rest = fix(rest);
    const all = tail === undefined ? groups : [...groups, ...Array(8 - groups.length - rest.length).fill('0'), ...rest];
    return { family: 6, value: all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
  }
  throw new WharfError('INVALID_ARGUMENT', `invalid IP address: ${ip}`);
}

export function formatIp(family: 4 | 6, v: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: the longest run (of two or more) of zero groups becomes '::'.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** `a.b.c.d/n` or `x::/n`; with `strict`, host bits set are refused (as dockerd refuses `--subnet 10.1.0.1/16`). */
export function parseCidr(text: string, strict = false): Cidr {
  const slash = text.indexOf('/');
  const ip = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(ip);
  const prefix = slash < 0 ? NaN : Number(text.slice(slash + 1));
  if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128))
    throw new WharfError('INVALID_ARGUMENT', `invalid CIDR address: ${text}`);
  const { value } = parseIp(ip);
  const f = family as 4 | 6;
  const base = value & mask(f, prefix);
  if (strict && base !== value)
    throw new WharfError('INVALID_ARGUMENT', `invalid subnet ${text}: it should be ${formatIp(f, base)}/${prefix}`);
  return { family: f, base, prefix };
}

export const formatCidr = (c: Cidr): string => `${formatIp(c.family, c.base)}/${c.prefix}`;

function mask(family: 4 | 6, prefix: number): bigint {
  const n = BigInt(bits(family));
  const all = (1n << n) - 1n;
  return all ^ ((1n << (n - BigInt(prefix))) - 1n);
}

const last = (c: Cidr): bigint => c.base | ((1n << BigInt(bits(c.family) - c.prefix)) - 1n);

export function cidrContains(c: Cidr, ip: string): boolean {
  const p = parseIp(ip);
  return p.family === c.family && p.value >= c.base && p.value <= last(c);
}

export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.base <= last(b) && b.base <= last(a);
}

/** The subnets of `size` in `pool`, in order. */
function* carve(pool: Cidr, size: number): Generator<Cidr> {
  const step = 1n << BigInt(bits(pool.family) - size);
  for (let b = pool.base; b <= last(pool); b += step) yield { family: pool.family, base: b, prefix: size };
}

/**
 * The first subnet of the pools that overlaps nothing `taken` (other networks, the host's routes): dockerd's
 * allocation order. NOT_FOUND-like UNAVAILABLE when the pools are used up, in dockerd's words.
 */
export function allocateSubnet(pools: readonly AddressPool[], taken: readonly Cidr[]): Cidr {
  for (const p of pools) {
    const pool = parseCidr(p.base);
    for (const sub of carve(pool, p.size)) {
      if (!taken.some((t) => cidrOverlaps(t, sub))) return sub;
    }
  }
  throw new WharfError('UNAVAILABLE', 'all predefined address pools have been fully subnetted');
}

/** The gateway of a subnet when none is given: its first address (dockerd's and host-local's choice). */
export const firstHost = (c: Cidr): string => formatIp(c.family, c.base + 1n);

/**
 * The first address of `range` (default: the whole subnet) that is neither the network address, the IPv4
 * broadcast, nor in `used`. UNAVAILABLE when none is left.
 */
export function firstFreeAddress(subnet: Cidr, used: ReadonlySet<string>, range?: Cidr): string {
  const r = range ?? subnet;
  const end = last(r);
  const broadcast = last(subnet);
  for (let v = r.base; v <= end; v++) {
    if (v === subnet.base || (subnet.family === 4 && v === broadcast)) continue;
    const ip = formatIp(subnet.family, v);
    if (!used.has(ip)) return ip;
    if (v - r.base > 1_000_000n) break; // an IPv6 /64 is never walked to its end
  }
  throw new WharfError(
    'UNAVAILABLE',
    `no available IPv${subnet.family} addresses on the network's subnet ${formatCidr(subnet)}`,
  );
}

/** A random ULA /48 (RFC 4193 global ID), from which a root's IPv6 /64s are carved. */
export function randomUlaPool(random: (n: number) => Buffer): AddressPool {
  const b = random(5);
  const hex = b.toString('hex');
  return { base: `fd${hex.slice(0, 2)}:${hex.slice(2, 6)}:${hex.slice(6, 10)}::/48`, size: 64 };
}

/**
 * The host's routes from /proc/net/route (IPv4: little-endian hex destination and mask) and /proc/net/ipv6_route
 * (big-endian hex destination and prefix length), without the default routes: what a new subnet must not overlap.
 */
export function parseProcRoutes(v4: string, v6: string): Array<Cidr & { dev: string }> {
  const out: Array<Cidr & { dev: string }> = [];
  for (const line of v4.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    // Host byte order (little-endian here): the bytes of the hex text reversed.
    const le = (h: string): bigint => BigInt(`0x${(h.match(/../g) ?? []).reverse().join('')}`);
    const dst = le(f[1]!);
    const m = le(f[7]!);
    let prefix = 0;
    for (let x = m; x & 0x80000000n; x = (x << 1n) & 0xffffffffn) prefix++;
    if (prefix === 0) continue;
    out.push({ family: 4, base: dst, prefix, dev: f[0]! });
  }
  for (const line of v6.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const prefix = parseInt(f[1]!, 16);
    const dev = f[9]!;
    // Link-local, multicast and host routes belong to every interface: not something a subnet collides with.
    if (prefix === 0 || prefix === 128 || dev === 'lo') continue;
    const base = BigInt(`0x${f[0]}`);
    if (base >> 118n === 0x3fan /* fe80::/10 */ || base >> 120n === 0xffn) continue;
    out.push({ family: 6, base, prefix, dev });
  }
  return out;
}

/**
 * dockerd's `--default-address-pool` values (`base=172.30.0.0/16,size=24`), several separated by spaces or `;`:
 * the IPv4 and the IPv6 pools apart. A pool whose base is wider than its size or has a bad field is refused.
 */
export function parseAddressPools(text: string): { ipv4: AddressPool[]; ipv6: AddressPool[] } {
  const out = { ipv4: [] as AddressPool[], ipv6: [] as AddressPool[] };
  for (const spec of text.split(/[\s;]+/).filter(Boolean)) {
    const fields = Object.fromEntries(spec.split(',').map((kv) => kv.split('=') as [string, string]));
    const base = fields.base;
    const size = Number(fields.size);
    if (!base || !Number.isInteger(size))
      throw new WharfError('INVALID_ARGUMENT', `invalid address pool "${spec}": want base=CIDR,size=N`);
    const c = parseCidr(base, true);
    if (size < c.prefix || size > (c.family === 4 ? 32 : 128))
      throw new WharfError('INVALID_ARGUMENT', `invalid address pool "${spec}": size ${size} does not fit ${base}`);
    (c.family === 4 ? out.ipv4 : out.ipv6).push({ base: formatCidr(c), size });
  }
  return out;
}
