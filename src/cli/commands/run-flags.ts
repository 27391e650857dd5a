import { WharfError } from '../../errors/index.js';

/**
 * The docker CLI's own parsing and checks of `run`/`create` flags for namespaces, security, DNS, logging and stdio
 * (issue 12), with its messages: pure functions, table-tested in test/unit/cli/run-flags.test.ts. What dockerd
 * checks is the engine's (src/container/run-modes.ts).
 */

const bad = (msg: string): WharfError => new WharfError('INVALID_ARGUMENT', msg);
const flagError = (value: string, flag: string, why: string): WharfError =>
  bad(`invalid argument "${value}" for "${flag}" flag: ${why}`);

const SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/** `--sysctl k=v`: the docker CLI's ValidateSysctl (IPC sysctls, `net.*`, `fs.mqueue.*`), as a map. */
export function parseSysctls(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq);
    if (eq < 0 || !(SYSCTLS.has(key) || key.startsWith('net.') || key.startsWith('fs.mqueue.')))
      throw flagError(v, '--sysctl', `sysctl '${v}' is not allowed`);
    out[key] = v.slice(eq + 1);
  }
  return out;
}

/** `--tmpfs /path[:options]` → HostConfig.Tmpfs (path → options), destinations checked as dockerd does. */
export function parseTmpfs(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const colon = v.indexOf(':');
    const dest = colon < 0 ? v : v.slice(0, colon);
    if (!dest.startsWith('/')) throw bad(`invalid mount path: '${dest}' mount path must be absolute`);
    out[dest] = colon < 0 ? '' : v.slice(colon + 1);
  }
  return out;
}

/** Go's strconv.ParseUint(s, 10, 16) error for a port, or undefined when `s` is one. */
export function portParseError(s: string): string | undefined {
  if (!/^\d+$/.test(s)) return `strconv.ParseUint: parsing "${s}": invalid syntax`;
  if (Number(s) > 65535) return `strconv.ParseUint: parsing "${s}": value out of range`;
  return undefined;
}

function parsePort(s: string, spec: string): number {
  const err = portParseError(s);
  if (err) throw bad(`invalid range format for --expose: ${spec}, error: ${err}`);
  return Number(s);
}

/** `--expose port[-end][/proto]` → ExposedPorts keys (`80/tcp`), one per port of a range; the protocol unchecked. */
export function parseExpose(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    const slash = v.indexOf('/');
    const port = slash < 0 ? v : v.slice(0, slash);
    const proto = slash < 0 || v.slice(slash + 1) === '' ? 'tcp' : v.slice(slash + 1).toLowerCase();
    const dash = port.indexOf('-');
    const start = parsePort(dash < 0 ? port : port.slice(0, dash), v);
    const end = dash < 0 ? start : parsePort(port.slice(dash + 1), v);
    if (end < start)
      throw bad(`invalid range format for --expose: ${v}, error: invalid range specified for port: ${port}`);
    for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  }
  return out;
}

/** `--mac-address`: Go's net.ParseMAC for the 6-byte forms (`02:42:ac:11:00:02`, `02-42-…`, `0242.ac11.0002`). */
export function checkMacAddress(mac: string): string {
  const ok =
    /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i.test(mac) ||
    /^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/i.test(mac);
  if (!ok) throw bad(`${mac} is not a valid mac address`);
  const hex = mac.replace(/[:.-]/g, '').toLowerCase();
  return hex.match(/../g)!.join(':');
}

export interface AttachStreams {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

/** `-a STDIN|STDOUT|STDERR` (any case) with `-i`: which streams the client attaches (stdout and stderr without -a). */
export function parseAttach(values: readonly string[], interactive: boolean): AttachStreams {
  const s = { stdin: interactive, stdout: values.length === 0, stderr: values.length === 0 };
  for (const v of values) {
    const k = v.toLowerCase();
    if (k !== 'stdin' && k !== 'stdout' && k !== 'stderr')
      throw flagError(v, '-a, --attach', 'valid streams are STDIN, STDOUT and STDERR');
    s[k] = true;
  }
  return s;
}

const CTRL = '@abcdefghijklmnopqrstuvwxyz[\\]^_';

/**
 * `--detach-keys`: moby's term.ToBytes — comma-separated single characters and `ctrl-<c>` for c in a–z, @, [, \, ],
 * ^, _ (any case). Default ctrl-p,ctrl-q.
 */
export function parseDetachKeys(keys: string): Buffer {
  const codes: number[] = [];
  for (const key of keys.split(',')) {
    if (key.length === 1) {
      codes.push(key.charCodeAt(0));
      continue;
    }
    const m = /^ctrl-(.)$/i.exec(key);
    const i = m ? CTRL.indexOf(m[1]!.toLowerCase()) : -1;
    if (i < 0) throw bad(`Invalid detach keys (${keys}) provided`);
    codes.push(i);
  }
  return Buffer.from(codes);
}

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** `--log-opt k=v` → a map; a value without `=` is the docker CLI's error. */
export function parseLogOpts(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq < 0) throw bad(`invalid key-value pair for --log-opt: ${v}`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** `--annotation k=v` → a map (a bare key maps to ''). */
export function parseKeyValues(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    out[eq < 0 ? v : v.slice(0, eq)] = eq < 0 ? '' : v.slice(eq + 1);
  }
  return out;
}

/** `--label-file`: one label a line; blank lines and `#` comments skipped (the docker CLI's ReadKVStrings). */
export function labelFileLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, '').replace(/^\s+/, ''))
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/**
 * `--security-opt` as the docker CLI reads it (parseSecurityOpts): `no-new-privileges` alone, else `key=value` (or
 * the old `key:value`); a seccomp profile other than `unconfined` is replaced by the file's contents, read by
 * `readFile` (the daemon never sees the path).
 */
export function parseSecurityOptFlags(values: readonly string[], readFile: (file: string) => string): string[] {
  const out: string[] = [];
  for (const opt of values) {
    if (opt === 'no-new-privileges' || opt === 'systempaths=unconfined') {
      out.push(opt);
      continue;
    }
    let i = opt.indexOf('=');
    if (i < 0) i = opt.indexOf(':');
    if (i < 0) throw bad(`Invalid --security-opt: "${opt}"`);
    const key = opt.slice(0, i);
    const value = opt.slice(i + 1);
    if (key === 'seccomp' && value !== 'unconfined' && value !== 'builtin') {
      let text: string;
      try {
        text = readFile(value);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw bad(
          `opening seccomp profile (${value}) failed: open ${value}: ${code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
        );
      }
      out.push(`seccomp=${compactJson(text, value)}`);
      continue;
    }
    out.push(opt);
  }
  return out;
}

function compactJson(text: string, file: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch (err) {
    throw bad(`compacting json for seccomp profile (${file}) failed: ${(err as Error).message}`);
  }
}

/** `--storage-opt k=v`: the docker CLI's parse (a value without `=` is its "invalid storage option"), as a map. */
export function parseStorageOpts(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i < 0) throw bad('invalid storage option');
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

/**
 * `--use-api-socket`: docker 28's CLI bind-mounts the daemon's API socket (and the registry credentials) into the
 * container. Wharf has no Engine API socket yet (it comes with issue 13), so there is nothing to mount: refused.
 */
export function checkUseApiSocket(on: boolean | undefined): void {
  if (on)
    throw bad(
      '--use-api-socket: Wharf has no Engine API socket to mount into the container yet (daemonless; issue 13)',
    );
}

/** The docker CLI's refusal of `--network-alias` outside user-defined networks (it prints it without the usage). */
export const NETWORK_ALIAS_REFUSAL = 'network-scoped aliases are only supported for user-defined networks';

/** `--link NAME[:ALIAS]`: the docker CLI's ValidateLink (at most one colon). */
export function checkLink(v: string): string {
  if (v.split(':').length > 2) throw new Error(`bad format for links: ${v}`);
  return v;
}
