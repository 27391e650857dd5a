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
  /** Host port listened on, on `[::]` only (IPV6_V6ONLY: the IPv4 side stays portmap's). */
  hostPort: number;
  targetIP: string;
  targetPort: number;
}

/** The routes for a container's mappings: TCP ports published on every address (no host IP given). */
export function proxyRoutes(ports: readonly PortMapping[], containerIP: string | undefined): ProxyRoute[] {
  if (!containerIP) return [];
  return ports
    .filter((m) => m.protocol === 'tcp' && (m.hostIP === '' || m.hostIP === '0.0.0.0') && m.hostPort > 0)
    .map((m) => ({ hostPort: m.hostPort, targetIP: containerIP, targetPort: m.containerPort }));
}

/** `[::]:8080=10.89.0.5:80` — the form the proxy process takes its routes in. */
export const formatRoute = (r: ProxyRoute): string => `${r.hostPort}=${r.targetIP}:${r.targetPort}`;

export function parseRoute(text: string): ProxyRoute {
  const m = /^(\d+)=([0-9.]+):(\d+)$/.exec(text);
  if (!m) throw new WharfError('INVALID_ARGUMENT', `invalid proxy route ${JSON.stringify(text)}`);
  return { hostPort: Number(m[1]), targetIP: m[2]!, targetPort: Number(m[3]) };
}

/**
 * The proxy itself: listens on `[::]:hostPort` for each route and relays every connection to the container. Resolves
 * once all listeners are up (the caller then says so to the process that started it); a listener that cannot bind
 * (no IPv6 on the host, the port taken on IPv6) is reported in `failed` and skipped.
 */
export async function servePortProxy(routes: readonly ProxyRoute[]): Promise<{ failed: string[] }> {
  const failed: string[] = [];
  for (const r of routes) {
    const srv = net.createServer((client) => {
      const upstream = net.connect({ host: r.targetIP, port: r.targetPort });
      client.pipe(upstream);
      upstream.pipe(client);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
      client.on('close', close);
      upstream.on('close', close);
    });
    await new Promise<void>((resolve) => {
      srv.once('error', (err) => {
        failed.push(`[::]:${r.hostPort}: ${(err as Error).message}`);
        resolve();
      });
      srv.listen({ host: '::', port: r.hostPort, ipv6Only: true }, resolve);
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
