import { promises as fsp } from 'node:fs';
import type * as Os from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';
import { WharfError } from '../errors/index.js';
import { lazyBuiltin } from '../util/builtin.js';
import { parseGoDuration } from '../util/duration.js';
import { DATABASE_DRIVERS, STORAGE_DRIVERS, checkKnownKeys, envKeyKnown } from './config-schema.js';
import { parseS3Config, type S3Config } from './storage/s3-config.js';

const os = lazyBuiltin<typeof Os>('node:os');

export type Action = 'pull' | 'push' | 'delete';

export interface AccessRule {
  /** User names, `group:<name>`, `*` (any authenticated user) or `anonymous`. */
  users: string[];
  /** Repository globs: `*` matches within one path component, `**` across components. */
  repositories: string[];
  actions: Action[];
}

export type DatabaseConfig =
  | { driver: 'sqlite' }
  | {
      driver: 'postgres';
      /** postgresql://user:password@host:port/database (libpq URL). */
      dsn: string;
      /** Connections each server process keeps at most. */
      pool: number;
      /** Statements running longer are cancelled (the request answers 503); 0 = no limit. */
      statementTimeoutMs: number;
    };

/** The resolved configuration: every default applied, every path absolute. Nothing deeper reads files or env. */
export interface RegistryConfig {
  /** The local data directory: the filesystem driver's root, and the SQLite index's home (`index.db`). */
  rootDirectory: string;
  /**
   * `storage.reserve.size`: bytes kept back in `<rootDirectory>/reserve` for DELETE and GC on a full disk
   * (storage/reserve.ts); 0: none.
   */
  reserveBytes: number;
  /** `storage.s3`: blobs in an S3 bucket (every replica shares it); absent: the filesystem under rootDirectory. */
  s3?: S3Config;
  /** Where the index lives; with `postgres`, every replica shares the database. */
  database: DatabaseConfig;
  host: string;
  port: number;
  tls?: { certificate: string; key: string };
  deleteEnabled: boolean;
  readOnly: boolean;
  /** Upload sessions idle longer than this are purged by GC (and by the server's periodic purge). */
  uploadPurgeAgeMs: number;
  /** 0 disables the server's periodic upload purge. */
  uploadPurgeIntervalMs: number;
  /** How long a new blob is protected from GC while its manifest has not been pushed yet. */
  blobLeaseMs: number;
  htpasswd?: { realm: string; path: string };
  token?: { realm?: string; service: string; issuer: string; key?: string; expirationSec: number };
  access: { rules: AccessRule[]; groups: Record<string, string[]>; admins: string[] };
  accessLog: boolean;
  shutdownTimeoutMs: number;
  /**
   * A connection on which nothing moved for this long is closed (`http.idletimeout`, default 5m; 0 turns it off):
   * a client that stops reading a blob, or stalls mid-upload, does not hold a connection and a file open forever.
   * Waiting between keep-alive requests is bounded by its own shorter timeout.
   */
  idleTimeoutMs: number;
  /** Server processes sharing the port (node:cluster); 1 serves in this process. */
  workers: number;
  /**
   * Blob bodies on plain HTTP go out with sendfile(2) when the native addon is built and the storage keeps blobs in
   * local files; false (or no addon, or TLS) streams them through Node.
   */
  sendfile: boolean;
  /** Requests a second per client address (average and burst); absent: unlimited. */
  rateLimit?: { rate: number; burst: number };
}

/**
 * An upload idle this long was abandoned (a killed client): a push sends its chunks seconds apart, and a client that
 * resumes after an hour restarts the blob anyway. Distribution's `uploadpurging` defaults to 168h/24h, which leaves the
 * bytes of every killed push on disk for a week; the keys are the same, only the defaults are shorter.
 */
const DEFAULT_UPLOAD_PURGE_AGE = '1h';
/** Enough for the WAL pages of a large GC's deletes; not Wharf's to guess the disk, so small. */
export const DEFAULT_RESERVE_BYTES = 8 * 1024 * 1024;

/** `storage.reserve.size`: bytes as a number, or with a unit (`16MiB`, `16MB`, `16m`; binary multiples). */
export function parseByteSize(v: unknown, where: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  const m = typeof v === 'string' ? /^(\d+)\s*(?:([kmg])(?:i?b)?|b)?$/i.exec(v.trim()) : null;
  if (!m) throw new WharfError('INVALID_ARGUMENT', `config ${where}: ${JSON.stringify(v)} is not a size (e.g. 8MiB)`);
  const unit = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1;
  return Number(m[1]) * unit;
}
const DEFAULT_UPLOAD_PURGE_INTERVAL = '1h';

/**
 * Durations as distribution's config writes them: Go's `time.ParseDuration` text ("168h", "1h30m", "30s"), plus two
 * forms older configs use: a bare number of seconds and whole days ("7d").
 */
export function parseDuration(v: unknown, where: string): number {
  if (typeof v === 'number') return v * 1000;
  const s = String(v).trim();
  const bare = /^(\d+(?:\.\d+)?)(d)?$/.exec(s);
  if (bare) return Number(bare[1]) * (bare[2] ? 86_400_000 : 1000);
  let ns = -1;
  try {
    ns = parseGoDuration(s);
  } catch {}
  if (ns >= 0) return ns / 1e6;
  throw new WharfError('INVALID_ARGUMENT', `${where}: invalid duration ${JSON.stringify(s)} (use e.g. 30s, 10m, 168h)`);
}

export function parseAddr(addr: string, where = 'http.addr'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr.trim());
  if (!m) throw new WharfError('INVALID_ARGUMENT', `${where}: ${JSON.stringify(addr)} is not HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new WharfError('INVALID_ARGUMENT', `${where}: port ${port} is out of range`);
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]!);
  return { host, port };
}

type Raw = Record<string, unknown>;

function obj(v: unknown, where: string): Raw {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw new WharfError('INVALID_ARGUMENT', `config ${where}: must be a mapping`);
  return v as Raw;
}

function str(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number')
    throw new WharfError('INVALID_ARGUMENT', `config ${where}: must be a string`);
  return String(v);
}

function bool(v: unknown, where: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new WharfError('INVALID_ARGUMENT', `config ${where}: must be true or false`);
}

function strList(v: unknown, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new WharfError('INVALID_ARGUMENT', `config ${where}: must be a list of strings`);
  return v as string[];
}

/**
 * Applies `REGISTRY_SECTION_KEY=value` overrides as distribution does (`REGISTRY_HTTP_ADDR`,
 * `REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY`, `REGISTRY_STORAGE_DELETE_ENABLED`…). Values are YAML scalars.
 */
export function applyEnvOverrides(raw: Raw, env: NodeJS.ProcessEnv): Raw {
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('REGISTRY_') || v === undefined) continue;
    const keys = k.slice('REGISTRY_'.length).toLowerCase().split('_').filter(Boolean);
    if (keys.length === 0) continue;
    // A variable of another tool (REGISTRY_URL) is not ours; one inside a section we have must name a real key.
    const known = envKeyKnown(keys);
    if (known === undefined) continue;
    if (!known) throw new WharfError('INVALID_ARGUMENT', `${k}: config ${keys.join('.')} is not a known key`);
    let cur = raw;
    for (const key of keys.slice(0, -1)) {
      const next = cur[key];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[key] = {};
      cur = cur[key] as Raw;
    }
    cur[keys[keys.length - 1]!] = YAML.parse(v) ?? v;
  }
  return raw;
}

export interface LoadOptions {
  /** The Wharf root; the default data directory is `<root>/registry`. */
  wharfRoot: string;
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** `--addr`, stronger than file and environment. */
  addr?: string;
}

/** Reads the YAML file (if any), applies the environment, resolves defaults. */
export async function loadRegistryConfig(opts: LoadOptions): Promise<RegistryConfig> {
  let raw: Raw = {};
  let baseDir = process.cwd();
  if (opts.configFile !== undefined) {
    let text: string;
    try {
      text = await fsp.readFile(opts.configFile, 'utf8');
    } catch (err) {
      throw new WharfError('NOT_FOUND', `cannot read registry config ${opts.configFile}: ${(err as Error).message}`);
    }
    try {
      raw = obj(YAML.parse(text), '(top level)');
    } catch (err) {
      if (err instanceof WharfError) throw err;
      throw new WharfError(
        'INVALID_ARGUMENT',
        `registry config ${opts.configFile} is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
      );
    }
    baseDir = path.dirname(path.resolve(opts.configFile));
  }
  raw = applyEnvOverrides(raw, opts.env ?? {});
  const cfg = resolveRegistryConfig(raw, { wharfRoot: opts.wharfRoot, baseDir });
  if (opts.addr !== undefined) Object.assign(cfg, parseAddr(opts.addr, '--addr'));
  return cfg;
}

/** Turns a parsed YAML document into a RegistryConfig. Relative paths are relative to `baseDir`. */
export function resolveRegistryConfig(raw: Raw, ctx: { wharfRoot: string; baseDir: string }): RegistryConfig {
  const abs = (p: string) => path.resolve(ctx.baseDir, p);
  checkKnownKeys(raw);
  const version = str(raw.version, 'version');
  if (version !== undefined && !/^0\.1$/.test(version))
    throw new WharfError('INVALID_ARGUMENT', `config version: ${version} is not supported (use 0.1)`);

  const storage = obj(raw.storage, 'storage');
  const fsCfg = obj(storage.filesystem, 'storage.filesystem');
  const rootDirectory = abs(
    str(fsCfg.rootdirectory, 'storage.filesystem.rootdirectory') ?? path.join(ctx.wharfRoot, 'registry'),
  );
  const drivers = STORAGE_DRIVERS.filter((d) => storage[d] !== undefined && storage[d] !== null);
  if (drivers.length > 1)
    throw new WharfError('INVALID_ARGUMENT', `config storage: two storage drivers (${drivers.join(', ')}); keep one`);
  const redirect = obj(storage.redirect, 'storage.redirect');
  const s3 =
    drivers[0] === 's3'
      ? parseS3Config(obj(storage.s3, 'storage.s3'), bool(redirect.disable, 'storage.redirect.disable') === true)
      : undefined;
  const database = resolveDatabase(obj(raw.database, 'database'));
  const del = obj(storage.delete, 'storage.delete');
  const maintenance = obj(storage.maintenance, 'storage.maintenance');
  const purging = obj(maintenance.uploadpurging, 'storage.maintenance.uploadpurging');
  const readonly = obj(maintenance.readonly, 'storage.maintenance.readonly');

  const http = obj(raw.http, 'http');
  const { host, port } = parseAddr(str(http.addr, 'http.addr') ?? '127.0.0.1:5000');
  const tlsRaw = obj(http.tls, 'http.tls');
  const cert = str(tlsRaw.certificate, 'http.tls.certificate');
  const key = str(tlsRaw.key, 'http.tls.key');
  if ((cert === undefined) !== (key === undefined))
    throw new WharfError('INVALID_ARGUMENT', 'config http.tls: certificate and key go together');

  const auth = obj(raw.auth, 'auth');
  const ht = obj(auth.htpasswd, 'auth.htpasswd');
  const tok = obj(auth.token, 'auth.token');
  const htPath = str(ht.path, 'auth.htpasswd.path');
  const tokenEnabled = Object.keys(tok).length > 0;
  if (tokenEnabled && htPath === undefined) {
    throw new WharfError(
      'INVALID_ARGUMENT',
      'config auth.token: the built-in token service needs auth.htpasswd.path for its users',
    );
  }

  const access = obj(raw.access, 'access');
  const groupsRaw = obj(access.groups, 'access.groups');
  const groups: Record<string, string[]> = {};
  for (const [g, members] of Object.entries(groupsRaw)) groups[g] = strList(members, `access.groups.${g}`);
  const rulesRaw = access.rules ?? [];
  if (!Array.isArray(rulesRaw)) throw new WharfError('INVALID_ARGUMENT', 'config access.rules: must be a list');
  const rules: AccessRule[] = rulesRaw.map((r, i) => {
    const o = obj(r, `access.rules[${i}]`);
    const actions = strList(o.actions, `access.rules[${i}].actions`).map((a) => a.toLowerCase());
    for (const a of actions) {
      if (a !== 'pull' && a !== 'push' && a !== 'delete' && a !== '*') {
        throw new WharfError(
          'INVALID_ARGUMENT',
          `config access.rules[${i}].actions: unknown action ${JSON.stringify(a)} (pull, push, delete)`,
        );
      }
    }
    return {
      users: strList(o.users, `access.rules[${i}].users`),
      repositories: strList(o.repositories ?? '**', `access.rules[${i}].repositories`),
      actions: (actions.includes('*') ? ['pull', 'push', 'delete'] : actions) as Action[],
    };
  });

  const rl = obj(http.ratelimit, 'http.ratelimit');
  const rate = rl.rate === undefined ? undefined : Number(rl.rate);
  if (rate !== undefined && !(rate > 0))
    throw new WharfError('INVALID_ARGUMENT', 'config http.ratelimit.rate: must be a positive number');
  const burst = rl.burst === undefined ? undefined : Number(rl.burst);
  if (burst !== undefined && !(burst >= 1))
    throw new WharfError('INVALID_ARGUMENT', 'config http.ratelimit.burst: must be at least 1');

  const workersRaw = http.workers ?? 1;
  const workers = workersRaw === 'auto' ? os().availableParallelism() : Number(workersRaw);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new WharfError('INVALID_ARGUMENT', 'config http.workers: must be a number from 1 to 64, or "auto"');
  }
  if (workers > 1 && tokenEnabled && str(tok.key, 'auth.token.key') === undefined) {
    throw new WharfError('INVALID_ARGUMENT', 'config auth.token.key: several workers must share one signing key');
  }

  const log = obj(raw.log, 'log');
  const accessLogCfg = obj(log.accesslog, 'log.accesslog');

  return {
    rootDirectory,
    reserveBytes:
      obj(storage.reserve, 'storage.reserve').size === undefined
        ? DEFAULT_RESERVE_BYTES
        : parseByteSize(obj(storage.reserve, 'storage.reserve').size, 'storage.reserve.size'),
    ...(s3 !== undefined ? { s3 } : {}),
    database,
    host,
    port,
    ...(cert !== undefined && key !== undefined ? { tls: { certificate: abs(cert), key: abs(key) } } : {}),
    deleteEnabled: bool(del.enabled, 'storage.delete.enabled') ?? true,
    readOnly: bool(readonly.enabled, 'storage.maintenance.readonly.enabled') ?? false,
    uploadPurgeAgeMs: parseDuration(purging.age ?? DEFAULT_UPLOAD_PURGE_AGE, 'storage.maintenance.uploadpurging.age'),
    uploadPurgeIntervalMs:
      bool(purging.enabled, 'storage.maintenance.uploadpurging.enabled') === false
        ? 0
        : parseDuration(
            purging.interval ?? DEFAULT_UPLOAD_PURGE_INTERVAL,
            'storage.maintenance.uploadpurging.interval',
          ),
    blobLeaseMs: parseDuration(obj(raw.gc, 'gc').bloblease ?? '1h', 'gc.bloblease'),
    ...(htPath !== undefined
      ? { htpasswd: { realm: str(ht.realm, 'auth.htpasswd.realm') ?? 'wharf-registry', path: abs(htPath) } }
      : {}),
    ...(tokenEnabled
      ? {
          token: {
            ...(str(tok.realm, 'auth.token.realm') !== undefined ? { realm: str(tok.realm, 'auth.token.realm')! } : {}),
            service: str(tok.service, 'auth.token.service') ?? 'wharf-registry',
            issuer: str(tok.issuer, 'auth.token.issuer') ?? 'wharf-registry',
            ...(str(tok.key, 'auth.token.key') !== undefined ? { key: abs(str(tok.key, 'auth.token.key')!) } : {}),
            expirationSec: parseDuration(tok.expiration ?? '5m', 'auth.token.expiration') / 1000,
          },
        }
      : {}),
    access: { rules, groups, admins: strList(access.admins, 'access.admins') },
    accessLog: bool(accessLogCfg.disabled, 'log.accesslog.disabled') !== true,
    shutdownTimeoutMs: parseDuration(http.draintimeout ?? '60s', 'http.draintimeout'),
    idleTimeoutMs: parseDuration(http.idletimeout ?? '5m', 'http.idletimeout'),
    workers,
    sendfile: bool(http.sendfile, 'http.sendfile') ?? true,
    ...(rate !== undefined ? { rateLimit: { rate, burst: burst ?? Math.max(1, Math.ceil(rate)) } } : {}),
  };
}

const DEFAULT_POOL = 10;
const DEFAULT_STATEMENT_TIMEOUT = '30s';

/** `database`: SQLite in the data directory unless a driver or a DSN says PostgreSQL. */
function resolveDatabase(db: Raw): DatabaseConfig {
  const dsn = str(db.dsn, 'database.dsn');
  const driver = str(db.driver, 'database.driver') ?? (dsn !== undefined ? 'postgres' : 'sqlite');
  if (!(DATABASE_DRIVERS as readonly string[]).includes(driver))
    throw new WharfError(
      'INVALID_ARGUMENT',
      `config database.driver: unknown driver ${JSON.stringify(driver)} (${DATABASE_DRIVERS.join(', ')})`,
    );
  if (driver === 'sqlite') {
    for (const k of ['dsn', 'pool', 'statementtimeout'])
      if (db[k] !== undefined && db[k] !== null)
        throw new WharfError('INVALID_ARGUMENT', `config database.${k}: only for driver postgres`);
    return { driver: 'sqlite' };
  }
  if (dsn === undefined || !/^postgres(?:ql)?:\/\//.test(dsn))
    throw new WharfError('INVALID_ARGUMENT', 'config database.dsn: driver postgres needs a postgresql:// URL');
  const pool = db.pool === undefined || db.pool === null ? DEFAULT_POOL : Number(db.pool);
  if (!Number.isInteger(pool) || pool < 1 || pool > 1000)
    throw new WharfError('INVALID_ARGUMENT', 'config database.pool: must be a number from 1 to 1000');
  return {
    driver: 'postgres',
    dsn,
    pool,
    statementTimeoutMs: parseDuration(db.statementtimeout ?? DEFAULT_STATEMENT_TIMEOUT, 'database.statementtimeout'),
  };
}
