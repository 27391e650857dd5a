import type * as Dgram from 'node:dgram';
import type * as Net from 'node:net';
import { WharfError, isErrno } from '../errors/index.js';
import { isIP, lazyBuiltin, run } from '../util/index.js';
import type { PortMapping, PortProtocol } from './publish.js';

const dgram = lazyBuiltin<typeof Dgram>('node:dgram');
const net = lazyBuiltin<typeof Net>('node:net');

/** A host port some published mapping already holds, as read from portmap's iptables rules. */
export interface PublishedPort {
  hostIP: string;
  hostPort: number;
  protocol: PortProtocol;
}

/**
 * The host ports portmap has DNAT rules for (`iptables -t nat -S` lines in its per-container `CNI-DN-*` chains), and
 * those published by port-rules.ts (WHARF-HOSTPORTS).
 * Those ports have no listening socket, so a bind test alone cannot see them.
 */
export function parsePortmapRules(iptablesS: string): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const line of iptablesS.split('\n')) {
    // portmap's per-container chains, and the one chain of Wharf's own rules (port-rules.ts)
    if (!/^-A (CNI-DN-\S+|WHARF-HOSTPORTS) /.test(line) || !line.includes('-j DNAT')) continue;
    const port = /--dport (\d+)/.exec(line);
    const proto = /-p (tcp|udp|sctp)/.exec(line);
    if (!port || !proto) continue;
    const dst = /-d (\S+?)(\/32|\/128)?\s/.exec(line);
    out.push({ hostIP: dst ? dst[1]! : '', hostPort: Number(port[1]), protocol: proto[1] as PortProtocol });
  }
  return out;
}

const overlaps = (a: string, b: string): boolean =>
  a === '' || b === '' || a === '0.0.0.0' || b === '0.0.0.0' || a === b;

async function canBind(ip: string, port: number, protocol: PortProtocol): Promise<boolean> {
  const host = ip === '' ? '0.0.0.0' : ip;
  if (protocol === 'udp') {
    return new Promise((resolve, reject) => {
      const s = dgram().createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
      s.once('error', (err) => {
        s.close();
        if (isErrno(err, 'EADDRINUSE')) resolve(false);
        else reject(err);
      });
      s.bind({ address: host, port, exclusive: true }, () => s.close(() => resolve(true)));
    });
  }
  return new Promise((resolve, reject) => {
    const srv = net().createServer();
    srv.once('error', (err) => {
      if (isErrno(err, 'EADDRINUSE')) resolve(false);
      else reject(err);
    });
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function publishedPorts(): Promise<PublishedPort[]> {
  const res = await run('iptables', ['-w', '-t', 'nat', '-S'], { check: false });
  return res.code === 0 ? parsePortmapRules(res.stdout) : [];
}

function describe(m: { hostIP: string; hostPort: number; protocol: string }): string {
  return `${m.hostIP || '0.0.0.0'}:${m.hostPort}/${m.protocol}`;
}

/**
 * Throws CONFLICT when a host port is taken by a listening socket or by another container's published port, before
 * anything is created. SCTP ports are only checked against published ones.
 */
export async function checkPortsFree(mappings: readonly PortMapping[]): Promise<void> {
  if (mappings.length === 0) return;
  const published = await publishedPorts();
  const seen: PortMapping[] = [];
  for (const m of mappings) {
    if (m.hostPort === 0) continue;
    const dup = seen.find(
      (s) => s.hostPort === m.hostPort && s.protocol === m.protocol && overlaps(s.hostIP, m.hostIP),
    );
    if (dup) throw new WharfError('CONFLICT', `port ${describe(m)} is published twice`);
    seen.push(m);
    if (published.some((p) => p.hostPort === m.hostPort && p.protocol === m.protocol && overlaps(p.hostIP, m.hostIP))) {
      throw new WharfError(
        'CONFLICT',
        `cannot publish ${describe(m)}: the port is already published by another container`,
        {
          details: { hostPort: m.hostPort },
        },
      );
    }
    if (m.protocol !== 'sctp' && !(await canBind(m.hostIP, m.hostPort, m.protocol))) {
      throw new WharfError('CONFLICT', `cannot publish ${describe(m)}: address already in use`, {
        details: { hostPort: m.hostPort },
      });
    }
  }
}

async function freePort(ip: string, protocol: PortProtocol): Promise<number> {
  const host = ip === '' ? '0.0.0.0' : ip;
  if (protocol === 'udp') {
    return new Promise((resolve, reject) => {
      const s = dgram().createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
      s.once('error', reject);
      s.bind({ address: host, port: 0 }, () => {
        const port = s.address().port;
        s.close(() => resolve(port));
      });
    });
  }
  return new Promise((resolve, reject) => {
    const srv = net().createServer();
    srv.once('error', reject);
    srv.listen({ host, port: 0 }, () => {
      const port = (srv.address() as Net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Give every mapping with hostPort 0 a free port from the kernel's ephemeral range (as `-P` does) and resolve host
 * port ranges to their first free port. Ports published by other containers are skipped.
 */
export async function allocateRandomPorts(mappings: readonly PortMapping[]): Promise<PortMapping[]> {
  // Nothing to choose (no ports, or fixed ones): no `iptables -S` (an exec on every start's critical path).
  if (mappings.every((m) => m.hostPort !== 0 && m.hostPortEnd === undefined)) return [...mappings];
  const published = await publishedPorts();
  const taken = (ip: string, port: number, protocol: PortProtocol, chosen: PortMapping[]): boolean =>
    published.some((p) => p.hostPort === port && p.protocol === protocol && overlaps(p.hostIP, ip)) ||
    chosen.some((c) => c.hostPort === port && c.protocol === protocol && overlaps(c.hostIP, ip));
  const out: PortMapping[] = [];
  for (const m of mappings) {
    if (m.hostPortEnd !== undefined) {
      let found = 0;
      for (let p = m.hostPort; p <= m.hostPortEnd && !found; p++) {
        if (!taken(m.hostIP, p, m.protocol, out) && (m.protocol === 'sctp' || (await canBind(m.hostIP, p, m.protocol))))
          found = p;
      }
      if (!found) {
        throw new WharfError(
          'CONFLICT',
          `no free host port in ${m.hostPort}-${m.hostPortEnd}/${m.protocol} for container port ${m.containerPort}`,
        );
      }
      out.push({ hostIP: m.hostIP, hostPort: found, containerPort: m.containerPort, protocol: m.protocol });
      continue;
    }
    if (m.hostPort !== 0) {
      out.push({ ...m });
      continue;
    }
    let port = 0;
    for (let i = 0; i < 20 && port === 0; i++) {
      const p = await freePort(m.hostIP, m.protocol === 'udp' ? 'udp' : 'tcp');
      if (!taken(m.hostIP, p, m.protocol, out)) port = p;
    }
    if (port === 0)
      throw new WharfError('UNAVAILABLE', `no free host port for container port ${m.containerPort}/${m.protocol}`);
    out.push({ ...m, hostPort: port });
  }
  return out;
}
