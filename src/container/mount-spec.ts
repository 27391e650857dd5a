import * as path from 'node:path';
import { WharfError } from '../errors/index.js';

/** A requested mount, parsed from `-v` or `--mount` (pure: nothing is resolved yet). */
export type MountSpec =
  | {
      kind: 'bind';
      source: string;
      destination: string;
      readOnly: boolean;
      propagation?: string;
      createSource: boolean;
      mode: string;
    }
  /** name undefined: an anonymous volume. */
  | { kind: 'volume'; name?: string; destination: string; readOnly: boolean; noCopy: boolean; mode: string }
  | { kind: 'tmpfs'; destination: string; size?: number; mode?: number };

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const PROPAGATIONS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);
const MODES = new Set(['ro', 'rw', 'z', 'Z', 'nocopy', 'delegated', 'cached', 'consistent', ...PROPAGATIONS]);

/** dockerd's refusal of a local volume name (`volume create` and `-v NAME:/path` alike), in its words. */
export function invalidVolumeName(name: string): WharfError {
  return new WharfError(
    'INVALID_ARGUMENT',
    `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
  );
}

export function isValidVolumeName(name: string): boolean {
  return VOLUME_NAME.test(name);
}

const badSpec = (spec: string, why: string): WharfError =>
  new WharfError('INVALID_ARGUMENT', `invalid volume specification: '${spec}': ${why}`);

function checkDestination(spec: string, dest: string, type: string): string {
  if (!path.posix.isAbsolute(dest)) {
    throw badSpec(
      spec,
      `invalid mount config for type "${type}": invalid mount path: '${dest}' mount path must be absolute`,
    );
  }
  if (path.posix.normalize(dest) === '/')
    throw badSpec(spec, `invalid mount config for type "${type}": destination can't be '/'`);
  return path.posix.normalize(dest);
}

/** Docker's `-v` / `--volume`: `[SOURCE:]DEST[:OPTIONS]`, SOURCE an absolute host path or a volume name. */
export function parseVolumeFlag(spec: string): MountSpec {
  const parts = spec.split(':');
  if (spec === '' || parts.length > 3 || parts.some((p) => p === ''))
    throw badSpec(spec, 'invalid volume specification');
  let source: string | undefined;
  let dest: string;
  let opts: string[] = [];
  if (parts.length === 1) dest = parts[0]!;
  else if (parts.length === 2) {
    // `/ctr:ro` is an anonymous volume with options, `src:/ctr` a named/bind mount.
    if (path.posix.isAbsolute(parts[0]!) && parts[1]!.split(',').every((o) => MODES.has(o))) {
      dest = parts[0]!;
      opts = parts[1]!.split(',');
    } else [source, dest] = parts as [string, string];
  } else {
    [source, dest] = parts as [string, string];
    opts = parts[2]!.split(',');
  }
  let readOnly = false;
  let propagation: string | undefined;
  let noCopy = false;
  for (const o of opts) {
    if (o === 'ro') readOnly = true;
    else if (o === 'rw') readOnly = false;
    else if (PROPAGATIONS.has(o)) propagation = o;
    else if (o === 'nocopy') noCopy = true;
    else if (o === 'z' || o === 'Z' || o === 'delegated' || o === 'cached' || o === 'consistent') continue;
    else throw badSpec(spec, `invalid mode: ${o}`);
  }
  const mode = opts.join(',');
  if (source === undefined) {
    return { kind: 'volume', destination: checkDestination(spec, dest, 'volume'), readOnly, noCopy, mode };
  }
  if (path.posix.isAbsolute(source)) {
    return {
      kind: 'bind',
      source: path.posix.normalize(source),
      destination: checkDestination(spec, dest, 'bind'),
      readOnly,
      createSource: true,
      mode,
      ...(propagation ? { propagation } : {}),
    };
  }
  if (!VOLUME_NAME.test(source)) throw invalidVolumeName(source);
  return { kind: 'volume', name: source, destination: checkDestination(spec, dest, 'volume'), readOnly, noCopy, mode };
}

/** Docker's `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly][,bind-propagation=…][,tmpfs-size=…]`. */
export function parseMountFlag(spec: string): MountSpec {
  const kv = new Map<string, string>();
  for (const field of spec.split(',')) {
    if (field === '') continue;
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : field.slice(eq + 1).trim();
    kv.set(key, eq < 0 && (key === 'readonly' || key === 'ro') ? 'true' : value);
  }
  const type = kv.get('type') ?? 'volume';
  const source = kv.get('source') ?? kv.get('src');
  const target = kv.get('target') ?? kv.get('destination') ?? kv.get('dst');
  if (!target)
    throw new WharfError('INVALID_ARGUMENT', `invalid argument "${spec}" for "--mount" flag: target is required`);
  const ro = kv.get('readonly') ?? kv.get('ro');
  const readOnly = ro !== undefined && ro !== 'false' && ro !== '0';
  const mountErr = (why: string) =>
    new WharfError('INVALID_ARGUMENT', `invalid mount config for type "${type}": ${why}`);
  if (!path.posix.isAbsolute(target)) throw mountErr(`invalid mount path: '${target}' mount path must be absolute`);
  const destination = path.posix.normalize(target);
  if (type === 'bind') {
    if (!source) throw mountErr('field Source must not be empty');
    if (!path.posix.isAbsolute(source)) throw mountErr(`invalid mount path: '${source}' mount path must be absolute`);
    const propagation = kv.get('bind-propagation');
    if (propagation && !PROPAGATIONS.has(propagation)) throw mountErr(`invalid propagation mode: ${propagation}`);
    return {
      kind: 'bind',
      source: path.posix.normalize(source),
      destination,
      readOnly,
      createSource: false,
      mode: '',
      ...(propagation ? { propagation } : {}),
    };
  }
  if (type === 'volume') {
    if (source !== undefined && source !== '' && !VOLUME_NAME.test(source)) {
      throw mountErr(`invalid volume name "${source}": only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`);
    }
    const nc = kv.get('volume-nocopy');
    return {
      kind: 'volume',
      ...(source ? { name: source } : {}),
      destination,
      readOnly,
      noCopy: nc !== undefined && nc !== 'false',
      mode: '',
    };
  }
  if (type === 'tmpfs') {
    if (source) throw mountErr('field Source must be empty');
    const size = kv.get('tmpfs-size');
    const mode = kv.get('tmpfs-mode');
    return {
      kind: 'tmpfs',
      destination,
      ...(size ? { size: parseBytes(size) } : {}),
      ...(mode ? { mode: Number.parseInt(mode, 8) } : {}),
    };
  }
  throw new WharfError(
    'INVALID_ARGUMENT',
    `invalid argument "${spec}" for "--mount" flag: mount type "${type}" is not supported`,
  );
}

/** Docker's RAMInBytes: `512m`, `1g`, `100k`, `1024b`, plain bytes. */
export function parseBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(text.trim());
  if (!m) throw new WharfError('INVALID_ARGUMENT', `invalid size: '${text}'`);
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
  return Math.floor(Number(m[1]) * mult[m[2]!.toLowerCase()]!);
}
