import { WharfError } from '../errors/index.js';
import { isIP } from '../util/index.js';

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/** One published port: host side → container side. */
export interface PortMapping {
  /** '' means every address (0.0.0.0). */
  hostIP: string;
  /** 0 until allocated (`-p 80`, `-P`). */
  hostPort: number;
  /** When set, `hostPort` is the start of a range to pick a free port from (`-p 8000-8010:80`). */
  hostPortEnd?: number;
  containerPort: number;
  protocol: PortProtocol;
}

const bad = (spec: string, why: string): WharfError =>
  new WharfError('INVALID_ARGUMENT', `invalid port specification "${spec}": ${why}`);

function parseRange(text: string, spec: string, what: string, allowZero: boolean): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw bad(spec, `invalid ${what} "${text}"`);
  const start = Number(m[1]);
  const end = m[2] !== undefined ? Number(m[2]) : start;
  const min = allowZero ? 0 : 1;
  if (start < min || start > 65535 || end < min || end > 65535) throw bad(spec, `${what} ${text} is out of range`);
  if (end < start) throw bad(spec, `${what} range ${text} ends before it starts`);
  return [start, end];
}

/**
 * Docker's `-p` grammar: `[ip:][hostPort[-end]:]containerPort[-end][/proto]`, an IPv6 ip in brackets. A container
 * range expands into one mapping per port; a host range with one container port picks a free port at allocation.
 */
export function parsePublish(spec: string): PortMapping[] {
  const raw = spec.trim();
  if (raw === '') throw bad(spec, 'empty');
  let rest = raw;
  let protocol: PortProtocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const proto = rest.slice(slash + 1).toLowerCase();
    if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw bad(spec, `invalid protocol "${proto}"`);
    protocol = proto;
    rest = rest.slice(0, slash);
  }
  let hostIP = '';
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') throw bad(spec, 'unterminated IPv6 address');
    hostIP = rest.slice(1, close);
    if (isIP(hostIP) !== 6) throw bad(spec, `invalid IP address "${hostIP}"`);
    rest = rest.slice(close + 2);
  }
  const parts = rest.split(':');
  let hostPart = '';
  let ctrPart: string;
  if (parts.length === 1) ctrPart = parts[0]!;
  else if (parts.length === 2) [hostPart, ctrPart] = parts as [string, string];
  else if (parts.length === 3 && hostIP === '') {
    hostIP = parts[0]!;
    hostPart = parts[1]!;
    ctrPart = parts[2]!;
    if (hostIP !== '' && isIP(hostIP) !== 4) throw bad(spec, `invalid IP address "${hostIP}"`);
  } else throw bad(spec, 'too many colons');
  if (ctrPart === '') throw bad(spec, 'no container port');
  const [cStart, cEnd] = parseRange(ctrPart, spec, 'container port', false);
  const count = cEnd - cStart + 1;
  if (hostPart === '') {
    return Array.from({ length: count }, (_, i) => ({ hostIP, hostPort: 0, containerPort: cStart + i, protocol }));
  }
  const [hStart, hEnd] = parseRange(hostPart, spec, 'host port', true);
  const hostCount = hEnd - hStart + 1;
  if (count === 1 && hostCount > 1) {
    return [{ hostIP, hostPort: hStart, hostPortEnd: hEnd, containerPort: cStart, protocol }];
  }
  if (hostCount !== count) throw bad(spec, 'host and container port ranges differ in length');
  return Array.from({ length: count }, (_, i) => ({
    hostIP,
    hostPort: hStart === 0 ? 0 : hStart + i,
    containerPort: cStart + i,
    protocol,
  }));
}

/** `-P`: every exposed port (`"80/tcp": {}` keys of ExposedPorts) on a random host port. */
export function exposedPortMappings(exposed: Record<string, unknown> | null | undefined): PortMapping[] {
  const out: PortMapping[] = [];
  for (const key of Object.keys(exposed ?? {})) {
    out.push(...parsePublish(key).map((m) => ({ ...m, hostPort: 0 })));
  }
  return out;
}

/** Docker's `port` output form: `80/tcp -> 127.0.0.1:8080`. */
export function formatPortMapping(m: PortMapping): string {
  const ip = m.hostIP === '' ? '0.0.0.0' : m.hostIP.includes(':') ? `[${m.hostIP}]` : m.hostIP;
  return `${m.containerPort}/${m.protocol} -> ${ip}:${m.hostPort}`;
}
