import { problem } from './errors.js';
import type { CacheSharing, MountType, RunMount } from './instructions.js';

const MOUNT_TYPES: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const SHARING: readonly CacheSharing[] = ['shared', 'private', 'locked'];

/** Splits one CSV record (`a,"b,c",d`), the format `--mount` values use. */
function splitCSV(s: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quoted) {
      if (ch === '"') {
        if (s[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  if (quoted) throw problem(`failed to parse csv mounts: unterminated quote in ${JSON.stringify(s)}`);
  out.push(field);
  return out;
}

const parseBool = (key: string, v: string): boolean => {
  const l = v.toLowerCase();
  if (['1', 't', 'true'].includes(l)) return true;
  if (['0', 'f', 'false'].includes(l)) return false;
  throw problem(`invalid value for ${key}: ${v}`);
};

const parseUint = (key: string, v: string, radix: 8 | 10): number => {
  const re = radix === 8 ? /^[0-7]+$/ : /^\d+$/;
  const n = re.test(v) ? Number.parseInt(v, radix) : NaN;
  if (!Number.isSafeInteger(n) || n > 0xffffffff) throw problem(`invalid value ${v} for ${key}`);
  return n;
};

/** Docker's RAMInBytes: `64m`, `1.5GiB`, `1024` (binary multiples). */
function parseByteSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(v);
  if (!m) throw problem(`invalid value for size: ${v}`);
  const mult = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Math.floor(Number.parseFloat(m[1]!) * mult);
}

export interface ParseMountOptions {
  /** Expands a field value. Without it, values are taken as written and values holding `$` are not checked. */
  expand?: (value: string) => string;
}

/**
 * Parses one `--mount` value. Unknown keys, bad types and inconsistent options are errors;
 * `readOnly` defaults to true except for cache and tmpfs mounts, as in BuildKit.
 */
export function parseMount(spec: string, opts: ParseMountOptions = {}): RunMount {
  const m: RunMount = { type: 'bind', readOnly: true };
  let roAuto = true;
  let hasMode = false;
  let hasUid = false;
  let hasGid = false;
  const deferred = (v: string): boolean => !opts.expand && v.includes('$');

  for (const field of splitCSV(spec)) {
    const eq = field.indexOf('=');
    const key = (eq >= 0 ? field.slice(0, eq) : field).toLowerCase();
    if (eq < 0) {
      switch (key) {
        case 'readonly':
        case 'ro':
          m.readOnly = true;
          roAuto = false;
          continue;
        case 'readwrite':
        case 'rw':
          m.readOnly = false;
          roAuto = false;
          continue;
        case 'required':
          if (m.type === 'secret' || m.type === 'ssh') {
            m.required = true;
            continue;
          }
          throw problem(`unexpected key '${key}' for mount type '${m.type}'`);
        default:
          throw problem(`invalid field '${field}' must be a key=value pair`);
      }
    }
    const raw = field.slice(eq + 1);
    if (key === 'from' && /\$./.test(raw)) {
      throw problem(`'from' doesn't support variable expansion, define alias stage instead`);
    }
    const value = opts.expand ? opts.expand(raw) : raw;
    const skipCheck = deferred(raw);
    switch (key) {
      case 'type': {
        const t = value.toLowerCase() as MountType;
        if (!skipCheck && !MOUNT_TYPES.includes(t)) throw problem(`unsupported mount type ${JSON.stringify(value)}`);
        m.type = t;
        break;
      }
      case 'from':
        m.from = value;
        break;
      case 'source':
      case 'src':
        m.source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = value;
        break;
      case 'readonly':
      case 'ro':
        if (!skipCheck) m.readOnly = parseBool(key, value);
        roAuto = false;
        break;
      case 'readwrite':
      case 'rw':
        if (!skipCheck) m.readOnly = !parseBool(key, value);
        roAuto = false;
        break;
      case 'required':
        if (m.type !== 'secret' && m.type !== 'ssh')
          throw problem(`unexpected key '${key}' for mount type '${m.type}'`);
        if (!skipCheck) m.required = parseBool(key, value);
        break;
      case 'size':
        if (m.type !== 'tmpfs') throw problem(`unexpected key '${key}' for mount type '${m.type}'`);
        if (!skipCheck) m.size = parseByteSize(value);
        break;
      case 'id':
        m.id = value;
        break;
      case 'sharing': {
        const s = value.toLowerCase() as CacheSharing;
        if (!skipCheck && !SHARING.includes(s)) throw problem(`unsupported sharing value ${JSON.stringify(value)}`);
        m.sharing = s;
        break;
      }
      case 'mode':
        hasMode = true;
        if (!skipCheck) m.mode = parseUint('mode', value, 8);
        break;
      case 'uid':
        hasUid = true;
        if (!skipCheck) m.uid = parseUint('uid', value, 10);
        break;
      case 'gid':
        hasGid = true;
        if (!skipCheck) m.gid = parseUint('gid', value, 10);
        break;
      case 'env':
        if (m.type !== 'secret') throw problem(`unexpected key '${key}' for mount type '${m.type}'`);
        m.env = value;
        break;
      default:
        throw problem(`unexpected key '${key}' in '${field}'`);
    }
  }

  const fileInfoAllowed = m.type === 'secret' || m.type === 'ssh' || m.type === 'cache';
  if (!fileInfoAllowed) {
    if (hasMode) throw problem(`mode not allowed for "${m.type}" type mounts`);
    if (hasUid) throw problem(`uid not allowed for "${m.type}" type mounts`);
    if (hasGid) throw problem(`gid not allowed for "${m.type}" type mounts`);
  }
  if (roAuto) m.readOnly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (m.type === 'secret') {
    if (m.from !== undefined) throw problem('secret mount should not have a from');
    if (m.sharing !== undefined) throw problem('secret mount should not define sharing');
    if (m.source === undefined && m.target === undefined && m.id === undefined && m.env === undefined) {
      throw problem('invalid secret mount. one of source, target required');
    }
    if (m.source !== undefined && m.id !== undefined) throw problem("both source and id can't be set");
  }
  if (m.sharing !== undefined && m.type !== 'cache') throw problem(`invalid cache sharing set for ${m.type} mount`);
  if (m.type !== 'secret' && m.type !== 'ssh' && m.target === undefined) {
    throw problem(`mount target must be specified for ${m.type} mounts`);
  }
  return m;
}
