/**
 * A container's health check, as Docker builds it (pure): the `--health-*` flags into a HealthConfig (the docker
 * CLI's checks and messages, cli/command/container/opts.go), merged with the image's (the daemon's merge in
 * daemon/commit.go), checked as the daemon checks it (validateHealthCheck), and turned into what the monitor runs
 * (daemon/health.go: the defaults, the probe's argv). The monitor (native/monitor/health.c) runs it.
 */
import { WharfError } from '../errors/index.js';
import type { ContainerConfig, HealthConfig } from '../oci/index.js';
import { formatGoDuration } from '../util/duration.js';
import type { MonitorHealth } from '../runtime/index.js';

/** The `--health-*` flags of run/create, durations in nanoseconds (0: not given). */
export interface HealthFlags {
  cmd?: string;
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
  noHealthcheck?: boolean;
}

const invalid = (message: string): WharfError => new WharfError('INVALID_ARGUMENT', message);

/** The user's HealthConfig from the flags, or undefined when none was given (the image's then applies whole). */
export function healthConfigFromFlags(f: HealthFlags): HealthConfig | undefined {
  const have =
    (f.cmd ?? '') !== '' ||
    (f.interval ?? 0) !== 0 ||
    (f.timeout ?? 0) !== 0 ||
    (f.startPeriod ?? 0) !== 0 ||
    (f.retries ?? 0) !== 0 ||
    (f.startInterval ?? 0) !== 0;
  if (f.noHealthcheck) {
    if (have) throw invalid('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!have) return undefined;
  const checks: Array<[number | undefined, string]> = [
    [f.interval, '--health-interval'],
    [f.timeout, '--health-timeout'],
    [f.retries, '--health-retries'],
    [f.startPeriod, '--health-start-period'],
    [f.startInterval, '--health-start-interval'],
  ];
  for (const [v, flag] of checks) if ((v ?? 0) < 0) throw invalid(`${flag} cannot be negative`);
  const out: HealthConfig = {};
  if (f.cmd) out.Test = ['CMD-SHELL', f.cmd];
  if (f.interval) out.Interval = f.interval;
  if (f.timeout) out.Timeout = f.timeout;
  if (f.startPeriod) out.StartPeriod = f.startPeriod;
  if (f.startInterval) out.StartInterval = f.startInterval;
  if (f.retries) out.Retries = f.retries;
  return out;
}

const HEALTH_NUMBERS = ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const;

/**
 * The daemon's merge: the user's fields win, the image's fill what the user left empty or zero. The keys in the
 * order of Docker's HealthConfig (Test first), as inspect prints them.
 */
export function mergeHealthcheck(
  user: HealthConfig | undefined,
  image: HealthConfig | undefined,
): HealthConfig | undefined {
  if (!image) return user;
  if (!user) return image;
  const out: HealthConfig = {};
  const test = user.Test && user.Test.length > 0 ? user.Test : image.Test;
  if (test) out.Test = test;
  for (const k of HEALTH_NUMBERS) {
    const v = user[k] || image[k];
    if (v) out[k] = v;
  }
  return out;
}

const MINIMUM_DURATION_NS = 1e6; // Docker's container.MinimumDuration

/** The daemon's validateHealthCheck (its messages, "Error response from daemon: …" at Docker's CLI). */
export function validateHealthcheck(h: HealthConfig | undefined): void {
  if (!h) return;
  const min = formatGoDuration(MINIMUM_DURATION_NS);
  const tooShort = (v: number | undefined) => v !== undefined && v !== 0 && v < MINIMUM_DURATION_NS;
  if (tooShort(h.Interval)) throw invalid(`Interval in Healthcheck cannot be less than ${min}`);
  if (tooShort(h.Timeout)) throw invalid(`Timeout in Healthcheck cannot be less than ${min}`);
  if ((h.Retries ?? 0) < 0) throw invalid('Retries in Healthcheck cannot be negative');
  if (tooShort(h.StartPeriod)) throw invalid(`StartPeriod in Healthcheck cannot be less than ${min}`);
  if (tooShort(h.StartInterval)) throw invalid(`StartInterval in Healthcheck cannot be less than ${min}`);
}

// daemon/health.go's defaults.
const DEFAULT_INTERVAL_NS = 30e9;
const DEFAULT_TIMEOUT_NS = 30e9;
const DEFAULT_START_INTERVAL_NS = 5e9;
const DEFAULT_RETRIES = 3;

const DEFAULT_SHELL = ['/bin/sh', '-c'];

/**
 * What the monitor runs for a container's config: undefined when there is no check (none, an empty Test, NONE, or a
 * type Docker does not know, which Docker only warns about). CMD-SHELL goes through the config's Shell.
 */
export function healthProbe(config: ContainerConfig): MonitorHealth | undefined {
  const h = config.Healthcheck;
  const test = h?.Test ?? [];
  if (!h || test.length === 0) return undefined;
  let cmd: string[];
  if (test[0] === 'CMD') cmd = test.slice(1);
  else if (test[0] === 'CMD-SHELL') {
    const shell = config.Shell && config.Shell.length > 0 ? config.Shell : DEFAULT_SHELL;
    cmd = [...shell, ...test.slice(1)];
  } else return undefined;
  if (cmd.length === 0) return undefined;
  const ms = (ns: number | undefined, dflt: number) => Math.max(1, Math.round((ns || dflt) / 1e6));
  const timeout = h.Timeout || DEFAULT_TIMEOUT_NS;
  return {
    cmd,
    intervalMs: ms(h.Interval, DEFAULT_INTERVAL_NS),
    timeoutMs: ms(timeout, DEFAULT_TIMEOUT_NS),
    startPeriodMs: h.StartPeriod ? Math.round(h.StartPeriod / 1e6) : 0,
    startIntervalMs: ms(h.StartInterval, DEFAULT_START_INTERVAL_NS),
    retries: h.Retries && h.Retries > 0 ? h.Retries : DEFAULT_RETRIES,
    timeoutText: formatGoDuration(timeout),
  };
}

/** Docker's health status words, and `none` for a container without a running check (ps --filter health=). */
export const HEALTH_FILTER_VALUES = ['starting', 'healthy', 'unhealthy', 'none'] as const;

/** The part of ps's STATUS in parentheses: `healthy`, `unhealthy`, `health: starting` (Docker's Health.String). */
export function healthStatusText(status: string): string {
  return status === 'starting' ? 'health: starting' : status;
}
