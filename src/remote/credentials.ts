import { promises as fsp } from 'node:fs';
import type * as Os from 'node:os';
import * as path from 'node:path';
import { WharfError, isErrno } from '../errors/index.js';
import { atomicWriteFile, lazyBuiltin, run } from '../util/index.js';
import { DEFAULT_DOMAIN } from '../reference/index.js';
import { DOCKER_HUB_AUTH_KEY, normalizeAuthKey } from './hosts.js';

const os = lazyBuiltin<typeof Os>('node:os');

/** Credentials for one registry: a user and password, or an OAuth2 refresh token (Docker's `identitytoken`). */
export interface Credentials {
  username?: string;
  password?: string;
  identityToken?: string;
}

/** Where credentials are read from and written to; chosen once at the top (CLI or library caller). */
export interface CredentialFiles {
  /** Wharf's own config.json: read first, and the only one `login`/`logout` write. */
  wharfConfig: string;
  /** Docker's config.json, read as a fallback so existing `docker login`s work. */
  dockerConfig?: string;
}

/**
 * `$WHARF_CONFIG/config.json` or `~/.wharf/config.json`; Docker's from `$DOCKER_CONFIG` or `~/.docker`. The caller
 * passes the environment (the CLI its own): the library reads no process-wide settings.
 */
export function defaultCredentialFiles(
  env: Readonly<Record<string, string | undefined>>,
  home = os().homedir(),
): CredentialFiles {
  return {
    wharfConfig: path.join(env.WHARF_CONFIG || path.join(home, '.wharf'), 'config.json'),
    dockerConfig: path.join(env.DOCKER_CONFIG || path.join(home, '.docker'), 'config.json'),
  };
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface ConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

/** Runs `docker-credential-<helper> <action>` with `input` on stdin; replaceable in tests. */
export type HelperRunner = (
  helper: string,
  action: 'get' | 'store' | 'erase',
  input: string,
) => Promise<{ code: number; stdout: string; stderr: string }>;

const defaultRunner: HelperRunner = async (helper, action, input) => {
  const r = await run(`docker-credential-${helper}`, [action], { input, check: false, maxOutput: 1 << 20 });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
};

/** The `auths` key Docker uses for a registry: Docker Hub keeps its historical URL. */
export function authKeyFor(domain: string): string {
  return domain === DEFAULT_DOMAIN ? DOCKER_HUB_AUTH_KEY : domain;
}

/**
 * Registry credentials from Docker-format config files: `auths` entries (base64 `user:password`, or an identity
 * token), and credential helpers (`credsStore`, `credHelpers`). Wharf's file wins; Docker's is read when Wharf's has
 * nothing for the registry.
 */
export class CredentialStore {
  readonly #runner: HelperRunner;

  constructor(
    readonly files: CredentialFiles,
    opts: { runHelper?: HelperRunner } = {},
  ) {
    this.#runner = opts.runHelper ?? defaultRunner;
  }

  /** Credentials for a registry domain ('docker.io', 'localhost:5000'), or undefined for anonymous access. */
  async get(domain: string): Promise<Credentials | undefined> {
    for (const file of [this.files.wharfConfig, this.files.dockerConfig]) {
      if (!file) continue;
      const cfg = await readConfig(file);
      if (!cfg) continue;
      const found = await this.#fromConfig(cfg, domain, file);
      if (found) return found;
    }
    return undefined;
  }

  /** Save credentials in Wharf's config (0600), or in its credential helper when one is configured for the registry. */
  async store(domain: string, creds: Credentials): Promise<void> {
    const file = this.files.wharfConfig;
    const cfg = (await readConfig(file)) ?? {};
    const helper = helperFor(cfg, domain);
    const key = authKeyFor(domain);
    if (helper) {
      const secret = creds.identityToken ?? creds.password ?? '';
      const user = creds.identityToken ? '<token>' : (creds.username ?? '');
      const r = await this.#runner(helper, 'store', JSON.stringify({ ServerURL: key, Username: user, Secret: secret }));
      if (r.code !== 0)
        throw new WharfError(
          'UNAVAILABLE',
          `credential helper docker-credential-${helper} could not store credentials: ${firstLine(r.stderr || r.stdout)}`,
        );
      // The helper keeps the secret; the file only records that the registry is logged in.
      cfg.auths = { ...(cfg.auths ?? {}), [key]: {} };
    } else {
      const entry: AuthEntry = {};
      if (creds.identityToken) entry.identitytoken = creds.identityToken;
      else entry.auth = Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64');
      const auths = { ...(cfg.auths ?? {}) };
      for (const k of Object.keys(auths)) if (normalizeAuthKey(k) === domain) delete auths[k];
      auths[key] = entry;
      cfg.auths = auths;
    }
    await writeConfig(file, cfg);
  }

  /** Forget a registry's credentials in Wharf's config; false when there were none. */
  async erase(domain: string): Promise<boolean> {
    const file = this.files.wharfConfig;
    const cfg = await readConfig(file);
    if (!cfg) return false;
    let found = false;
    const auths = { ...(cfg.auths ?? {}) };
    for (const k of Object.keys(auths)) {
      if (normalizeAuthKey(k) === domain) {
        delete auths[k];
        found = true;
      }
    }
    const helper = helperFor(cfg, domain);
    if (helper && found) {
      const r = await this.#runner(helper, 'erase', authKeyFor(domain));
      if (r.code !== 0 && !/not found/i.test(r.stdout + r.stderr)) {
        throw new WharfError(
          'UNAVAILABLE',
          `credential helper docker-credential-${helper} could not erase credentials: ${firstLine(r.stderr || r.stdout)}`,
        );
      }
    }
    if (!found) return false;
    cfg.auths = auths;
    await writeConfig(file, cfg);
    return true;
  }

  async #fromConfig(cfg: ConfigFile, domain: string, file: string): Promise<Credentials | undefined> {
    const helper = helperFor(cfg, domain);
    if (helper) {
      const got = await this.#fromHelper(helper, domain);
      if (got) return got;
    }
    for (const [k, entry] of Object.entries(cfg.auths ?? {})) {
      if (normalizeAuthKey(k) !== domain || typeof entry !== 'object' || entry === null) continue;
      const creds = decodeEntry(entry, k, file);
      if (creds) return creds;
    }
    return undefined;
  }

  async #fromHelper(helper: string, domain: string): Promise<Credentials | undefined> {
    // Helpers file Docker Hub under its URL and other registries under the bare host; ask with both forms.
    for (const server of domain === DEFAULT_DOMAIN ? [DOCKER_HUB_AUTH_KEY] : [domain, `https://${domain}`]) {
      const r = await this.#runner(helper, 'get', server);
      if (r.code !== 0) {
        if (/credentials not found|not found/i.test(r.stdout + r.stderr)) continue;
        throw new WharfError(
          'UNAVAILABLE',
          `credential helper docker-credential-${helper} failed for ${server}: ${firstLine(r.stderr || r.stdout)}`,
        );
      }
      let doc: { Username?: unknown; Secret?: unknown };
      try {
        doc = JSON.parse(r.stdout) as typeof doc;
      } catch {
        throw new WharfError(
          'UNAVAILABLE',
          `credential helper docker-credential-${helper} printed invalid JSON for ${server}`,
        );
      }
      const user = typeof doc.Username === 'string' ? doc.Username : '';
      const secret = typeof doc.Secret === 'string' ? doc.Secret : '';
      if (secret === '') continue;
      return user === '<token>' ? { identityToken: secret } : { username: user, password: secret };
    }
    return undefined;
  }
}

function helperFor(cfg: ConfigFile, domain: string): string | undefined {
  for (const [k, h] of Object.entries(cfg.credHelpers ?? {})) if (normalizeAuthKey(k) === domain && h) return h;
  return cfg.credsStore || undefined;
}

function decodeEntry(entry: AuthEntry, key: string, file: string): Credentials | undefined {
  if (entry.identitytoken) return { identityToken: entry.identitytoken };
  if (entry.auth) {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon < 0)
      throw new WharfError('INVALID_ARGUMENT', `invalid "auth" for ${key} in ${file}: not base64 of user:password`);
    return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (entry.username !== undefined || entry.password !== undefined)
    return { username: entry.username ?? '', password: entry.password ?? '' };
  return undefined;
}

async function readConfig(file: string): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    throw new WharfError('UNAVAILABLE', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (text.trim() === '') return {};
  try {
    const doc = JSON.parse(text) as unknown;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not a JSON object');
    return doc as ConfigFile;
  } catch (err) {
    throw new WharfError('INVALID_ARGUMENT', `${file} is not valid JSON: ${(err as Error).message}`);
  }
}

async function writeConfig(file: string, cfg: ConfigFile): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await atomicWriteFile(file, JSON.stringify(cfg, null, '\t') + '\n', 0o600);
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? '';
}
