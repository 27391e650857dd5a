import { parseGoDuration } from '../util/duration.js';
import { problem } from './errors.js';

/** Value checks shared by typing (for literal values) and expansion (for expanded ones). */

const MIN_HEALTH_DURATION_NS = 1e6; // Docker's container.MinimumDuration (1ms)

/** A HEALTHCHECK duration flag: undefined when empty or zero (inherit), error below 1ms. */
export function parseHealthDuration(flag: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  let ns: number;
  try {
    ns = parseGoDuration(value);
  } catch (err) {
    throw problem(`HEALTHCHECK --${flag}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (ns === 0) return undefined;
  if (ns < MIN_HEALTH_DURATION_NS) throw problem(`HEALTHCHECK --${flag} cannot be less than 1ms (got ${value})`);
  return ns;
}

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

/** An EXPOSE value: one port or an inclusive range, and its protocol in lower case. */
export interface PortRange {
  start: number;
  end: number;
  proto: 'tcp' | 'udp' | 'sctp';
}

/** EXPOSE values: `80`, `80/tcp`, `8000-8010/udp` (protocol case-insensitive, as Docker's nat package reads it). */
export function parsePortRange(spec: string): PortRange {
  const slash = spec.lastIndexOf('/');
  const port = slash >= 0 ? spec.slice(0, slash) : spec;
  const proto = slash >= 0 ? spec.slice(slash + 1) : 'tcp';
  if (!PROTOCOLS.has(proto.toLowerCase())) throw problem(`invalid proto: ${proto}`);
  const m = /^(\d+)(?:-(\d+))?$/.exec(port);
  const start = m ? Number(m[1]) : NaN;
  const end = m?.[2] !== undefined ? Number(m[2]) : start;
  if (!m || start > 65535 || end > 65535) throw problem(`invalid containerPort: ${port}`);
  if (end < start) throw problem(`invalid range specified for container port: ${port}`);
  return { start, end, proto: proto.toLowerCase() as PortRange['proto'] };
}

export function checkPortSpec(spec: string): void {
  parsePortRange(spec);
}

/** `--chmod`: octal (`755`, `0644`) or symbolic (`u=rwx,go=rx`). */
export function checkChmod(value: string): void {
  if (/^[0-7]{1,4}$/.test(value)) return;
  if (/^[ugoa]*[-+=][rwxXst]*(,[ugoa]*[-+=][rwxXst]*)*$/.test(value)) return;
  throw problem(`invalid chmod parameter: ${JSON.stringify(value)}, expected an octal mode or a symbolic one`);
}

/** STOPSIGNAL: a signal number or a name, with or without `SIG` (`SIGTERM`, `KILL`, `SIGRTMIN+3`). */
export function checkSignal(value: string): void {
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n >= 1 && n <= 64) return;
  } else if (/^(SIG)?[A-Z][A-Z0-9]*([+-]\d+)?$/i.test(value)) return;
  throw problem(`invalid signal: ${value}`);
}

/** ADD --checksum: a digest `algorithm:hex`. */
export function checkChecksum(value: string): void {
  if (
    /^sha256:[a-f0-9]{64}$/.test(value) ||
    /^sha384:[a-f0-9]{96}$/.test(value) ||
    /^sha512:[a-f0-9]{128}$/.test(value)
  ) {
    return;
  }
  throw problem(`invalid checksum digest format: ${value}`);
}

const VALID_STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

export function checkStageName(name: string, asWritten: string): void {
  if (!VALID_STAGE_NAME.test(name)) {
    throw problem(
      `invalid name for build stage: ${JSON.stringify(asWritten)}, name can't start with a number or contain symbols`,
    );
  }
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}
