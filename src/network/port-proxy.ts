import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { WharfError } from '../errors/index.js';
import type * as ChildProcess from 'node:child_process';
import { lazyBuiltin, pidAlive } from '../util/index.js';
import type { PortMapping } from './publish.js';

/**
 * The IPv6 side of `-p`. Docker publishes a port on every address family: portmap's DNAT rules (IPv4) reach the
 * container, and for IPv6 (`[::1]:8080`, `[::]:8080`) Docker's userland proxy relays to the container's IPv4 address,
 * as an IPv6 packet cannot be DNATed to an IPv4 one. Wharf does the same with one small process per container
 * (`wharf container port-proxy`, started by the container's start, stopped by PID with its network): TCP only.
 */

const childProcess = lazyBuiltin<typeof ChildProcess>('node:child_process');

export interface ProxyRoute {
  /** `::` for a port published on every address (IPV6_V6ONLY: the IPv4 side stays portmap's), or the `-p [addr]:`. */
  hostIP: string;
  hostPort: number;
  targetIP: string;
  targetPort: number;
}

/** A mapping only the relay can serve: an IPv6 host address cannot be DNATed to the container's IPv4 address. */
export const ipv6Only = (m: PortMapping): boolean => net.isIPv6(m.hostIP);

/**
 * The routes for a container's mappings: TCP ports published on every address (also on `::`) and those published on
 * an IPv6 address (`-p [::1]:8080:80`).
 */
export function proxyRoutes(ports: readonly PortMapping[], containerIP: string | undefined): ProxyRoute[] {
  if (!containerIP) return [];
  return ports
    .filter((m) => m.protocol === 'tcp' && m.hostPort > 0 && (m.hostIP === '' || m.hostIP === '0.0.0.0' || ipv6Only(m)))
    .map((m) => ({
      hostIP: ipv6Only(m) ? m.hostIP : '::',
      hostPort: m.hostPort,
      targetIP: containerIP,
      targetPort: m.containerPort,
    }));
}

/** `[::]:8080=10.89.0.5:80` — the form the proxy process takes its routes in. */
export const formatRoute = (r: ProxyRoute): string => `[${r.hostIP}]:${r.hostPort}=${r.targetIP}:${r.targetPort}`;

export function parseRoute(text: string): ProxyRoute {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)=([0-9.]+):(\d+)$/.exec(text);
  if (!m || !net.isIPv6(m[1]!)) throw new WharfError('INVALID_ARGUMENT', `invalid proxy route ${JSON.stringify(text)}`);
  return { hostIP: m[1]!, hostPort: Number(m[2]), targetIP: m[3]!, targetPort: Number(m[4]) };
}

/**
 * The proxy itself: listens on `[hostIP]:hostPort` for each route and relays every connection to the container. Resolves
 * once all listeners are up (the caller then says so to the process that started it); a listener that cannot bind
 * (no IPv6 on the host, the port taken on IPv6) is reported in `failed` and skipped.
 */
export async function servePortProxy(routes: readonly ProxyRoute[]): Promise<{ failed: string[] }> {
  const failed: string[] = [];
  for (const r of routes) {
    // Half-open both ways, as a TCP relay must be: a client that sends its request and shuts down its side (FIN)
    // still gets the answer; each side's end is passed on, and a socket closes once both directions are done.
    const srv = net.createServer({ allowHalfOpen: true }, (client) => {
      const upstream = net.connect({ host: r.targetIP, port: r.targetPort, allowHalfOpen: true });
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
    await new Promise<void>((resolve) => {
      srv.once('error', (err) => {
        failed.push(`[${r.hostIP}]:${r.hostPort}: ${(err as Error).message}`);
        resolve();
      });
      srv.listen({ host: r.hostIP, port: r.hostPort, ipv6Only: true }, resolve);
    });
  }
  return { failed };
}

/** Stop a container's proxy by its recorded PID, only if that PID still is this container's proxy. */
export async function stopPortProxy(pid: number | undefined, id: string): Promise<void> {
  if (!pid || !isPortProxy(pid, id)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 50 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
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
 * Start a container's proxy as its own session (it outlives the CLI, like the monitor) and wait until it listens.
 * `command` is the wharf CLI to run (`[node, wharf]`); it runs `container port-proxy ID ROUTE…`.
 */
export async function startPortProxy(
  command: readonly string[],
  id: string,
  routes: readonly ProxyRoute[],
): Promise<{ pid: number; failed: string[] }> {
  const child = childProcess().spawn(
    command[0]!,
    [...command.slice(1), 'container', 'port-proxy', id, ...routes.map(formatRoute)],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const pid = child.pid;
  let out = '';
  const ready = await new Promise<{ failed: string[] } | undefined>((resolve) => {
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
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  child.stdout!.destroy();
  child.unref();
  if (!ready || pid === undefined) {
    if (pid !== undefined) await stopPortProxy(pid, id);
    throw new WharfError('INTERNAL', `the IPv6 port proxy of ${id} did not start`);
  }
  return { pid, failed: ready.failed };
}
