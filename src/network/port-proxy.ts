import { readFileSync } from 'node:fs';
import type * as Net from 'node:net';
import { WharfError } from '../errors/index.js';
import type * as ChildProcess from 'node:child_process';
import type * as Dgram from 'node:dgram';
import { isIP, lazyBuiltin, pidRunning } from '../util/index.js';
import { isIPv6Address } from './ipam.js';
import type { PortMapping } from './publish.js';

/**
 * The IPv6 side of `-p`. Docker publishes a port on every address family: portmap's DNAT rules (IPv4) reach the
 * container, and for IPv6 (`[::1]:8080`, `[::]:8080`) Docker's userland proxy relays to the container's IPv4 address,
 * as an IPv6 packet cannot be DNATed to an IPv4 one. Wharf does the same with one small process per container
 * (`wharf container port-proxy`, started by the container's start, stopped by PID with its network): TCP and UDP
 * (SCTP is not relayed).
 */

const childProcess = lazyBuiltin<typeof ChildProcess>('node:child_process');
const dgram = lazyBuiltin<typeof Dgram>('node:dgram');
const net = lazyBuiltin<typeof Net>('node:net');
/** How long a UDP client's flow stays without traffic (docker-proxy's UDPConnTrackTimeout). */
const UDP_IDLE_MS = 90_000;

export interface ProxyRoute {
  protocol: 'tcp' | 'udp';
  /** `::` for a port published on every address (IPV6_V6ONLY: the IPv4 side stays portmap's), or the `-p [addr]:`. */
  hostIP: string;
  hostPort: number;
  targetIP: string;
  targetPort: number;
}

/** A mapping only the relay can serve: an IPv6 host address cannot be DNATed to the container's IPv4 address. */
export const ipv6Only = (m: PortMapping): boolean => isIPv6Address(m.hostIP); // validated by publish.ts

/**
 * The routes for a container's mappings: TCP ports published on every address (also on `::`) and those published on
 * an IPv6 address (`-p [::1]:8080:80`).
 */
export function proxyRoutes(ports: readonly PortMapping[], containerIP: string | undefined): ProxyRoute[] {
  if (!containerIP) return [];
  return ports
    .filter(
      (m) => m.protocol !== 'sctp' && m.hostPort > 0 && (m.hostIP === '' || m.hostIP === '0.0.0.0' || ipv6Only(m)),
    )
    .map((m) => ({
      protocol: m.protocol === 'udp' ? ('udp' as const) : ('tcp' as const),
      hostIP: ipv6Only(m) ? m.hostIP : '::',
      hostPort: m.hostPort,
      targetIP: containerIP,
      targetPort: m.containerPort,
    }));
}

/** `tcp:[::]:8080=10.89.0.5:80` — the form the proxy process takes its routes in. */
export const formatRoute = (r: ProxyRoute): string =>
  `${r.protocol}:[${r.hostIP}]:${r.hostPort}=${r.targetIP}:${r.targetPort}`;

export function parseRoute(text: string): ProxyRoute {
  const m = /^(tcp|udp):\[([0-9a-fA-F:.]+)\]:(\d+)=([0-9.]+):(\d+)$/.exec(text);
  if (!m || isIP(m[2]!) !== 6) throw new WharfError('INVALID_ARGUMENT', `invalid proxy route ${JSON.stringify(text)}`);
  return {
    protocol: m[1] as 'tcp' | 'udp',
    hostIP: m[2]!,
    hostPort: Number(m[3]),
    targetIP: m[4]!,
    targetPort: Number(m[5]),
  };
}

/**
 * The proxy itself: listens on `[hostIP]:hostPort` for each route and relays every connection to the container. Resolves
 * once all listeners are up (the caller then says so to the process that started it); a listener that cannot bind
 * (no IPv6 on the host, the port taken on IPv6) is reported in `failed` and skipped.
 */
export async function servePortProxy(routes: readonly ProxyRoute[]): Promise<{ failed: string[]; close: () => void }> {
  const failed: string[] = [];
  const closers: Array<() => void> = [];
  for (const r of routes) {
    try {
      closers.push(await (r.protocol === 'udp' ? serveUdp(r) : serveTcp(r)));
    } catch (err) {
      failed.push(`${r.protocol} [${r.hostIP}]:${r.hostPort}: ${(err as Error).message}`);
    }
  }
  return {
    failed,
    close: () => {
      for (const c of closers) c();
    },
  };
}

/** Listens for one route; resolves with what stops it (its listener and every connection or flow). */
function serveTcp(r: ProxyRoute): Promise<() => void> {
  const open = new Set<Net.Socket>();
  // Half-open both ways, as a TCP relay must be: a client that sends its request and shuts down its side (FIN)
  // still gets the answer; each side's end is passed on, and a socket closes once both directions are done.
  const srv = net().createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net().connect({ host: r.targetIP, port: r.targetPort, allowHalfOpen: true });
    open.add(client).add(upstream);
    client.on('close', () => open.delete(client));
    upstream.on('close', () => open.delete(upstream));
    client.pipe(upstream);
    upstream.pipe(client);
    const destroy = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', destroy);
    upstream.on('error', destroy);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => {
      if (!client.writableEnded) client.end();
    });
  });
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen({ host: r.hostIP, port: r.hostPort, ipv6Only: true }, () =>
      resolve(() => {
        srv.close();
        for (const s of open) s.destroy();
      }),
    );
  });
}

/** UDP as docker-proxy relays it: one upstream socket per client address, dropped after a quiet 90 s. */
function serveUdp(r: ProxyRoute): Promise<() => void> {
  const sock = dgram().createSocket({ type: 'udp6', ipv6Only: true });
  const flows = new Map<string, { up: Dgram.Socket; timer: NodeJS.Timeout }>();
  sock.on('message', (msg, from) => {
    const key = `[${from.address}]:${from.port}`;
    let flow = flows.get(key);
    if (!flow) {
      const up = dgram().createSocket('udp4');
      up.on('message', (reply) => {
        sock.send(reply, from.port, from.address);
        refresh();
      });
      up.on('error', () => drop());
      const drop = (): void => {
        const f = flows.get(key);
        if (!f) return;
        clearTimeout(f.timer);
        flows.delete(key);
        f.up.close();
      };
      flow = { up, timer: setTimeout(drop, UDP_IDLE_MS) };
      const refresh = (): void => {
        const f = flows.get(key);
        if (f) f.timer.refresh();
      };
      flows.set(key, flow);
    } else flow.timer.refresh();
    flow.up.send(msg, r.targetPort, r.targetIP);
  });
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: r.hostIP, port: r.hostPort, exclusive: true }, () => {
      sock.off('error', reject);
      sock.on('error', () => {});
      resolve(() => {
        sock.close();
        for (const f of flows.values()) {
          clearTimeout(f.timer);
          f.up.close();
        }
        flows.clear();
      });
    });
  });
}

/** Stop a container's proxy by its recorded PID, only if that PID still is this container's proxy. */
export async function stopPortProxy(pid: number | undefined, id: string): Promise<void> {
  if (!pid || !isPortProxy(pid, id)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  // It has no handler: SIGTERM ends it within a millisecond or two, so poll briefly first (a fixed 20 ms step cost
  // every `rm` of a container with published ports ~20 ms), then every 20 ms, up to about a second in all. Ended means
  // a zombie too: its parent is init, which reaps it when it gets to it (a second or more here).
  for (let waited = 0, step = 1; waited < 1000 && pidRunning(pid); waited += step, step = Math.min(step * 2, 20))
    await new Promise((r) => setTimeout(r, step));
}

function isPortProxy(pid: number, id: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('port-proxy') && argv.includes(id);
  } catch {
    return false;
  }
}

/**
 * Start a container's proxy as its own session (it outlives the CLI, like the monitor), without waiting for it:
 * `ready` resolves once it listens (with the routes it could not serve), or to undefined if it exited or did not
 * answer within 15 s; it never rejects. The caller may do other work (start the container) meanwhile.
 * `command` is the wharf CLI to run (`[node, wharf]`); it runs `container port-proxy ID ROUTE…`.
 */
export function spawnPortProxy(
  command: readonly string[],
  id: string,
  routes: readonly ProxyRoute[],
): { pid: number | undefined; ready: Promise<{ failed: string[] } | undefined> } {
  const child = childProcess().spawn(
    command[0]!,
    [...command.slice(1), 'container', 'port-proxy', id, ...routes.map(formatRoute)],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  let out = '';
  const ready = new Promise<{ failed: string[] } | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.slice(0, nl)) as { failed: string[] });
      } catch {
        resolve(undefined);
      }
    });
    child.once('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  }).finally(() => {
    child.stdout!.destroy();
    child.unref();
  });
  return { pid: child.pid, ready };
}

/** spawnPortProxy and wait until it listens; a proxy that does not start is stopped and an error. */
export async function startPortProxy(
  command: readonly string[],
  id: string,
  routes: readonly ProxyRoute[],
): Promise<{ pid: number; failed: string[] }> {
  const { pid, ready } = spawnPortProxy(command, id, routes);
  const r = await ready;
  if (!r || pid === undefined) {
    if (pid !== undefined) await stopPortProxy(pid, id);
    throw new WharfError('INTERNAL', `the IPv6 port proxy of ${id} did not start`);
  }
  return { pid, failed: r.failed };
}

/**
 * The mappings a container publishes as Docker lists them (NetworkSettings.Ports, `ps`, `port`): each one, followed,
 * when the relay also serves it on every IPv6 address, by the same on `::` (docker CLI 28 prints
 * `0.0.0.0:8080->80/tcp, [::]:8080->80/tcp`). Only while a relay runs (`proxyPid`): on a host without IPv6 none is
 * started and nothing is listed on `::`.
 */
export function listedPortMappings(ports: readonly PortMapping[], proxyPid: number | undefined): PortMapping[] {
  const out: PortMapping[] = [];
  for (const m of ports) {
    out.push(m);
    const relayed = m.protocol !== 'sctp' && m.hostPort > 0 && (m.hostIP === '' || m.hostIP === '0.0.0.0');
    if (proxyPid && relayed) out.push({ ...m, hostIP: '::' });
  }
  return out;
}
