import { WharfError } from '../errors/index.js';
import type { NetworkMode } from '../network/index.js';
import type { CreateOptions } from './create-options.js';
import type { HostConfig } from './types.js';
import { parseUsernsMode } from './userns.js';

/**
 * The engine's checks of `run`'s namespace, security and logging options (issue 12), with dockerd's messages: what
 * the daemon refuses at create, kept apart from the CLI's own checks (src/cli/commands/run-flags.ts). Pure.
 */

const bad = (msg: string): WharfError => new WharfError('INVALID_ARGUMENT', msg);

/** `--ipc`: '' (Docker's default, recorded as `private`), private, shareable, host, none, container:X. */
export function checkIpcMode(mode: string): string {
  if (mode === '') return 'private';
  if (['private', 'shareable', 'host', 'none'].includes(mode)) return mode;
  if (mode.startsWith('container:')) {
    if (mode.slice('container:'.length) === '')
      throw bad(`can't join IPC of container : invalid name or ID supplied: ""`);
    return mode;
  }
  throw bad(`Invalid IPC mode: ${mode}`);
}

/** `--pid`: '' (own namespace), host, container:X — the docker CLI's check and message. */
export function checkPidMode(mode: string): string {
  if (mode === '' || mode === 'host') return mode;
  if (mode.startsWith('container:') && mode.length > 'container:'.length) return mode;
  throw bad('--pid: invalid PID mode');
}

/** `--uts`: '' or host. */
export function checkUtsMode(mode: string): string {
  if (mode === '' || mode === 'host') return mode;
  throw bad('--uts: invalid UTS mode');
}

/** `--userns`: '' or host (the host's namespace), or `auto[:size=N]` (a range of its own: userns.ts). */
export function checkUsernsMode(mode: string): string {
  parseUsernsMode(mode);
  return mode;
}

/** The container a `container:X` mode names, or undefined. */
export const joinedContainer = (mode: string | undefined): string | undefined =>
  mode?.startsWith('container:') ? mode.slice('container:'.length) : undefined;

// ---- --security-opt ----------------------------------------------------------------------------------------------

export interface SecurityChoices {
  noNewPrivileges: boolean;
  /** `label=…` other than `disable`: SELinux labels asked for (never applied: see refuseUnavailableConfinement). */
  labels?: string[];
  /** undefined or 'builtin': Docker's default profile; 'unconfined': none; else a Docker seccomp profile (JSON text). */
  seccomp?: string;
  apparmor?: string;
  /** `systempaths=unconfined`: no masked or read-only /proc and /sys paths. */
  unmaskPaths: boolean;
}

/**
 * dockerd's parseSecurityOpt: `no-new-privileges[=|:bool]`, `seccomp=…`, `apparmor=…`, `label=…` (SELinux),
 * `systempaths=unconfined`. What create refuses of them is refuseUnavailableConfinement's.
 */
export function parseSecurityOpts(opts: readonly string[]): SecurityChoices {
  const out: SecurityChoices = { noNewPrivileges: false, unmaskPaths: false };
  for (const opt of opts) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'disable') continue; // the old `label:disable`, split by the CLI
    const m = /^([^=:]+)[=:]([\s\S]*)$/.exec(opt);
    if (!m) throw bad(`invalid --security-opt 1: "${opt}"`);
    const [, key, value] = m as unknown as [string, string, string];
    switch (key) {
      case 'label':
        if (value !== 'disable') out.labels = [...(out.labels ?? []), value];
        continue;
      case 'apparmor':
        out.apparmor = value;
        continue;
      case 'seccomp':
        out.seccomp = value;
        continue;
      case 'no-new-privileges': {
        const b = parseGoBool(value);
        if (b === undefined) throw bad(`invalid --security-opt 2: "${opt}"`);
        out.noNewPrivileges = b;
        continue;
      }
      case 'systempaths':
        if (value !== 'unconfined') throw bad(`invalid --security-opt 2: "${opt}"`);
        out.unmaskPaths = true;
        continue;
      default:
        throw bad(`invalid --security-opt 2: "${opt}"`);
    }
  }
  return out;
}

/**
 * Confinement asked for that this host cannot give is refused at create, where dockerd accepts it and silently
 * applies nothing (a reviewer reading the command would believe it confined): an SELinux `label=…` (Wharf applies no
 * SELinux labels; `label=disable`, which asks for none, is accepted), and an AppArmor profile where the kernel has no
 * AppArmor (`apparmor=unconfined` is accepted).
 */
export function refuseUnavailableConfinement(sec: SecurityChoices, appArmorEnabled: boolean): void {
  const label = sec.labels?.[0];
  if (label !== undefined)
    throw new WharfError(
      'INVALID_ARGUMENT',
      `--security-opt label=${label}: Wharf applies no SELinux labels (only label=disable is accepted); refusing rather than running the container unlabelled`,
    );
  if (sec.apparmor !== undefined && sec.apparmor !== 'unconfined' && !appArmorEnabled)
    throw new WharfError(
      'INVALID_ARGUMENT',
      `--security-opt apparmor=${sec.apparmor}: AppArmor is not enabled in this kernel (/sys/module/apparmor/parameters/enabled); refusing rather than running the container unconfined`,
    );
}

const parseGoBool = (v: string): boolean | undefined =>
  ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)
    ? true
    : ['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)
      ? false
      : undefined;

/** dockerd adds `label=disable` for a container that shares the host's PID or IPC namespace, or is privileged. */
export function effectiveSecurityOpt(
  opts: readonly string[],
  o: { privileged?: boolean; ipc?: string; pid?: string },
): string[] {
  const out = [...opts];
  if ((o.privileged || o.ipc === 'host' || o.pid === 'host') && !out.includes('label=disable'))
    out.push('label=disable');
  return out;
}

// ---- --log-driver / --log-opt --------------------------------------------------------------------------------------

export type LogDriver = 'json-file' | 'local' | 'none';

export interface LogConfig {
  Type: string;
  Config: Record<string, string>;
}

/** How the monitor writes the log: what LogConfig means for this engine. */
export interface LogPlan {
  /** false for `none`: no file is written and `logs` refuses. */
  enabled: boolean;
  /** Rotate when the file reaches this many bytes; 0: never. */
  maxSize: number;
  /** Files kept: the live one and `.1` … `.N-1`. */
  maxFiles: number;
}

const JSON_FILE_OPTS = ['max-file', 'max-size', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag'];
const LOCAL_OPTS = ['max-file', 'max-size', 'compress'];

/**
 * The log driver and options as dockerd checks them at create (unknown driver or option), plus the values its
 * json-file driver checks when the log is opened (dockerd does that at start; Wharf at create, same message).
 * `local` is kept in the json-file format by the monitor (the same reader serves `logs`) with the local driver's
 * defaults (20 MB × 5 files); inspect still says `local`. Compression is not implemented and is refused.
 */
export function checkLogConfig(driver: string | undefined, opts: Record<string, string>): LogConfig {
  const type = driver === undefined || driver === '' ? 'json-file' : driver;
  const allowed = type === 'json-file' ? JSON_FILE_OPTS : type === 'local' ? LOCAL_OPTS : type === 'none' ? [] : null;
  if (allowed === null)
    throw new WharfError(
      'INVALID_ARGUMENT',
      `error looking up logging plugin ${type}: plugin "${type}" not found (Wharf has json-file, local and none)`,
    );
  if (type === 'none' && Object.keys(opts).length) throw bad('invalid logging opts for driver none');
  for (const k of Object.keys(opts)) {
    if (!allowed.includes(k))
      throw bad(
        type === 'json-file'
          ? `unknown log opt '${k}' for json-file log driver`
          : `unknown log opt '${k}' for log driver ${type}`,
      );
  }
  logPlan({ Type: type, Config: opts }); // the values, as the driver checks them
  return { Type: type, Config: sortedMap(opts) };
}

/** Docker's units.FromHumanSize: decimal units (k = 1000), optional `b`/`B`, fractions allowed. */
export function fromHumanSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[bB]?$/.exec(text);
  if (!m) throw bad(`invalid size: '${text}'`);
  const mult: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };
  return Math.floor(Number(m[1]) * (m[2] ? mult[m[2].toLowerCase()]! : 1));
}

/** What the monitor is told for a LogConfig (json-file's and local's rules; docker's error messages). */
export function logPlan(lc: LogConfig | undefined): LogPlan {
  const type = lc?.Type ?? 'json-file';
  if (type === 'none') return { enabled: false, maxSize: 0, maxFiles: 1 };
  const o = lc?.Config ?? {};
  const fail = (why: string): WharfError => bad(`failed to initialize logging driver: ${why}`);
  const local = type === 'local';
  let maxSize = local ? 20e6 : 0;
  if (o['max-size'] !== undefined) {
    try {
      maxSize = fromHumanSize(o['max-size']);
    } catch (err) {
      throw fail((err as Error).message);
    }
    if (maxSize <= 0) throw fail('max-size must be a positive number');
  }
  let maxFiles = local ? 5 : 1;
  if (o['max-file'] !== undefined) {
    if (!/^[+-]?\d+$/.test(o['max-file'])) throw fail(`strconv.Atoi: parsing "${o['max-file']}": invalid syntax`);
    maxFiles = Number(o['max-file']);
    if (maxFiles < 1) throw fail('max-file cannot be less than 1');
  }
  const compress = o.compress;
  if (compress !== undefined) {
    const b = parseGoBool(compress);
    if (b === undefined) throw fail(`strconv.ParseBool: parsing "${compress}": invalid syntax`);
    if (b && (maxFiles < 2 || maxSize <= 0))
      throw fail('compress cannot be true when max-file is less than 2 or max-size is not set');
    if (b)
      throw new WharfError(
        'UNSUPPORTED',
        'failed to initialize logging driver: compress=true is not implemented by Wharf (rotated files stay uncompressed)',
      );
  }
  return { enabled: true, maxSize, maxFiles };
}

/** A map with its keys in order, as Go writes maps (inspect's `json` shows them so). */
export function sortedMap(m: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The HostConfig fields of `run`'s namespace, security, DNS and logging options (issue 12), checked as dockerd checks
 * them at create. A `container:X` mode names a container that must exist now (it must run when this one starts).
 */
export function hostConfigRunModes(opts: CreateOptions, network: NetworkMode): Partial<HostConfig> {
  const ipc = checkIpcMode(opts.ipc ?? '');
  const pid = checkPidMode(opts.pid ?? '');
  const uts = checkUtsMode(opts.uts ?? '');
  const userns = checkUsernsMode(opts.userns ?? '');
  if (uts === 'host' && opts.hostname)
    throw new WharfError('INVALID_ARGUMENT', 'conflicting options: hostname and the UTS mode');
  if (opts.macAddress && network !== 'bridge')
    throw new WharfError('INVALID_ARGUMENT', 'conflicting options: mac-address and the network mode');
  const securityOpt = opts.securityOpt ?? [];
  parseSecurityOpts(securityOpt);
  const logConfig = checkLogConfig(opts.logDriver, opts.logOpts ?? {});
  return {
    IpcMode: ipc,
    PidMode: pid,
    UTSMode: uts,
    UsernsMode: userns,
    ...(opts.sysctls && Object.keys(opts.sysctls).length ? { Sysctls: sortedMap(opts.sysctls) } : {}),
    ...(opts.tmpfs && Object.keys(opts.tmpfs).length ? { Tmpfs: sortedMap(opts.tmpfs) } : {}),
    ...(opts.groupAdd?.length ? { GroupAdd: [...opts.groupAdd] } : {}),
    ContainerIDFile: opts.cidfile ?? '',
    DnsSearch: opts.dnsSearch ?? [],
    DnsOptions: opts.dnsOptions ?? [],
    SecurityOpt: effectiveSecurityOpt(securityOpt, { privileged: opts.privileged === true, ipc, pid }),
    LogConfig: logConfig,
    ...(opts.annotations && Object.keys(opts.annotations).length ? { Annotations: sortedMap(opts.annotations) } : {}),
  };
}
