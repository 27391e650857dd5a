import { mkdirSync } from 'node:fs';
import { WharfError } from '../errors/index.js';
import { loadNativeAddon } from '../util/index.js';

/**
 * rtnetlink through native/netlink.c: links, addresses, routes and named network namespaces for Wharf's own bridge
 * network, without a fork and exec per step (the CNI bridge, loopback and host-local plugins and `ip netns add` cost
 * ~20-40 ms each). Every call is synchronous: a few netlink round trips, well under a millisecond.
 * `netns` arguments: the path of a network namespace (/var/run/netns/NAME), or undefined for this process's own.
 */

interface NetlinkAddon {
  bridgeAdd(name: string, mtu: number): boolean;
  vethAdd(hostName: string, peerName: string, netns: string, mac: string, mtu: number): void;
  linkUp(netns: string, name: string): void;
  linkSetMaster(name: string, master: string, hairpin: boolean): void;
  linkDel(netns: string, name: string): boolean;
  linkDelAsync(netns: string, name: string): Promise<boolean>;
  linkGet(netns: string, name: string): LinkInfo | null;
  addrAdd(netns: string, name: string, cidr: string, mayExist: boolean): boolean;
  routeAdd(netns: string, dst: string, gateway: string, name: string): void;
  linkConfigure(netns: string, name: string, cidrs: string[], gateways: string[]): string;
  netnsCreate(path: string): void;
  netnsDelete(path: string): boolean;
}

export interface LinkInfo {
  index: number;
  mtu: number;
  /** Its MAC address ("aa:bb:cc:dd:ee:ff"), "" for a link without one (loopback has zeros). */
  mac: string;
  up: boolean;
  /** The index of the bridge it is attached to, 0 for none. */
  master: number;
}

const addon = (): NetlinkAddon | null =>
  loadNativeAddon<NetlinkAddon>(
    'wharf_netlink',
    (m) => typeof m.vethAdd === 'function' && typeof m.linkConfigure === 'function',
  );

/** Whether the addon is built and loadable (and WHARF_NATIVE is not 0). */
export function netlinkAvailable(): boolean {
  return addon() !== null;
}

function nl(): NetlinkAddon {
  const a = addon();
  if (!a)
    throw new WharfError(
      'UNAVAILABLE',
      process.env.WHARF_NATIVE === '0'
        ? 'native netlink is disabled (WHARF_NATIVE=0)'
        : 'native netlink addon build/Release/wharf_netlink.node is not built (run `npm run build`; it needs a C compiler and node-gyp)',
    );
  return a;
}

/** An addon error (.code "EEXIST" ...) as a WharfError with a stable code, the errno kept in details. */
function wrap<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof WharfError) throw err;
    const e = err as Error & { code?: string };
    const code =
      e.code === 'EEXIST'
        ? 'ALREADY_EXISTS'
        : e.code === 'ENODEV' || e.code === 'ENOENT'
          ? 'NOT_FOUND'
          : e.code === 'EPERM' || e.code === 'EACCES'
            ? 'DENIED'
            : e instanceof TypeError
              ? 'INVALID_ARGUMENT'
              : 'INTERNAL';
    throw new WharfError(code, `${what}: ${e.message}`, { cause: err, details: { errno: e.code } });
  }
}

async function wrapAsync<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    return wrap(what, () => {
      throw err;
    });
  }
}

const IFNAME = /^[A-Za-z0-9_.@:-]{1,15}$/;
function checkName(name: string): void {
  if (!IFNAME.test(name)) throw new WharfError('INVALID_ARGUMENT', `invalid interface name "${name}"`);
}

/** Create bridge `name` unless a link of that name exists; true if it was created here. */
export function bridgeAdd(name: string, mtu = 0): boolean {
  checkName(name);
  return wrap(`bridge ${name}`, () => nl().bridgeAdd(name, mtu));
}

/**
 * A veth pair: `hostName` here, `peerName` created directly in namespace `netns` (no move or rename), with the MAC
 * and MTU given (the kernel picks a random MAC otherwise).
 */
export function vethAdd(opts: { hostName: string; peerName: string; netns: string; mac?: string; mtu?: number }): void {
  checkName(opts.hostName);
  checkName(opts.peerName);
  wrap(`veth ${opts.hostName}`, () =>
    nl().vethAdd(opts.hostName, opts.peerName, opts.netns, opts.mac ?? '', opts.mtu ?? 0),
  );
}

export function linkUp(name: string, netns?: string): void {
  wrap(`link ${name} up`, () => nl().linkUp(netns ?? '', name));
}

/** Attach `name` to bridge `master`, with hairpin mode (a container reaches itself through a published port). */
export function linkSetMaster(name: string, master: string, hairpin: boolean): void {
  wrap(`attach ${name} to ${master}`, () => nl().linkSetMaster(name, master, hairpin));
}

/** Delete a link (a veth's peer goes with it); false if there was none. */
export function linkDel(name: string, netns?: string): boolean {
  return wrap(`delete link ${name}`, () => nl().linkDel(netns ?? '', name));
}

/**
 * linkDel off the event loop (libuv's pool): a veth's deletion waits for RCU grace periods in the kernel, ~30 ms
 * here, which a synchronous call would take from everything else the process does.
 */
export async function linkDelAsync(name: string, netns?: string): Promise<boolean> {
  const a = nl();
  return wrapAsync(`delete link ${name}`, () => a.linkDelAsync(netns ?? '', name));
}

export function linkGet(name: string, netns?: string): LinkInfo | null {
  return wrap(`link ${name}`, () => nl().linkGet(netns ?? '', name));
}

/** Add an address in CIDR form ("10.0.0.2/24", "fd00::2/64"; IPv6 without duplicate address detection). */
export function addrAdd(name: string, cidr: string, netns?: string): void {
  wrap(`address ${cidr} on ${name}`, () => nl().addrAdd(netns ?? '', name, cidr, false));
}

/**
 * Add an address unless the link already has it (a bridge's gateway address, checked on every start: no exception
 * on that path); true if it was added now.
 */
export function addrEnsure(name: string, cidr: string, netns?: string): boolean {
  return wrap(`address ${cidr} on ${name}`, () => nl().addrAdd(netns ?? '', name, cidr, true));
}

/** A route to `dst` ("0.0.0.0/0", "::/0") via `gateway` out of `name`. */
export function routeAdd(dst: string, gateway: string, name: string, netns?: string): void {
  wrap(`route ${dst} via ${gateway}`, () => nl().routeAdd(netns ?? '', dst, gateway, name));
}

/**
 * What a container's interface `name` needs inside namespace `netns`, over one netlink socket there (each call above
 * into another namespace costs a thread that enters it): the addresses (CIDR form; IPv6 without duplicate address
 * detection), `name` and loopback up, a default route via each gateway (one per family; a default route there already,
 * a first network's, stays). Returns `name`'s MAC.
 */
export function linkConfigure(name: string, netns: string, cidrs: string[], gateways: string[]): string {
  checkName(name);
  return wrap(`configure ${name} in ${netns}`, () => nl().linkConfigure(netns, name, cidrs, gateways));
}

const NETNS_DIR = '/var/run/netns';

/**
 * A new named network namespace on /var/run/netns/NAME, as `ip netns add NAME` makes it (a bind mount of the
 * namespace) but without the exec. Its loopback is left down; bring it up with linkUp('lo', path).
 */
export function netnsCreate(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,200}$/.test(name))
    throw new WharfError('INVALID_ARGUMENT', `invalid network namespace name "${name}"`);
  const path = `${NETNS_DIR}/${name}`;
  mkdirSync(NETNS_DIR, { recursive: true });
  wrap(`network namespace ${name}`, () => nl().netnsCreate(path));
  return path;
}

/** Unmount and remove a namespace made by netnsCreate or `ip netns add`; false if it did not exist. */
export function netnsDelete(path: string): boolean {
  return wrap(`delete network namespace ${path}`, () => nl().netnsDelete(path));
}
