import { promises as fsp } from 'node:fs';
import { createPrivateKey, createPublicKey, randomBytes, randomUUID, createHash, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import bcrypt from 'bcryptjs';
import { SignJWT, jwtVerify } from 'jose';
import { WharfError } from '../../errors/index.js';
import type { RegistryConfig } from '../config.js';
import type { AccessPolicy, Principal } from './access.js';

/** Reads an htpasswd file with bcrypt entries (`htpasswd -B`); other hash kinds are refused at load time. */
export async function readHtpasswd(file: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new WharfError('NOT_FOUND', `cannot read htpasswd file ${file}: ${(err as Error).message}`);
  }
  const users = new Map<string, string>();
  text.split('\n').forEach((line, i) => {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) return;
    const colon = l.indexOf(':');
    const hash = l.slice(colon + 1);
    if (colon <= 0 || !/^\$2[aby]\$\d\d\$/.test(hash)) {
      throw new WharfError('INVALID_ARGUMENT', `${file}:${i + 1}: only bcrypt entries (htpasswd -B) are supported`);
    }
    users.set(l.slice(0, colon), hash);
  });
  return users;
}

export function htpasswdLine(user: string, password: string, cost = 10): string {
  if (user === '' || user.includes(':'))
    throw new WharfError('INVALID_ARGUMENT', `invalid user name ${JSON.stringify(user)}`);
  return `${user}:${bcrypt.hashSync(password, cost)}`;
}

export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

/** `repository:team/app:pull,push` (names never contain ':' but the type and actions are the outer parts). */
export function parseScope(s: string): Scope | undefined {
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  return {
    type: s.slice(0, first),
    name: s.slice(first + 1, last),
    actions: s
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}

const CACHE_TTL_MS = 60_000;

/**
 * Checks credentials: htpasswd for Basic (bcrypt is slow on purpose, so good answers are cached briefly),
 * and our own JWTs for Bearer. Issues those JWTs for the token service.
 */
export class Authenticator {
  #users = new Map<string, string>();
  #usersMtime = 0;
  #usersCheckedAt = 0;
  readonly #verified = new Map<string, number>();
  #signKey!: KeyObject | Uint8Array;
  #verifyKey!: KeyObject | Uint8Array;
  #alg = 'HS256';

  private constructor(
    readonly cfg: RegistryConfig,
    readonly policy: AccessPolicy,
  ) {}

  static async create(cfg: RegistryConfig, policy: AccessPolicy): Promise<Authenticator> {
    const a = new Authenticator(cfg, policy);
    if (cfg.htpasswd) await a.#reloadUsers(true);
    if (cfg.token) await a.#loadKey(cfg.token.key);
    return a;
  }

  get mode(): 'none' | 'basic' | 'bearer' {
    return this.cfg.token ? 'bearer' : this.cfg.htpasswd ? 'basic' : 'none';
  }

  async #loadKey(file: string | undefined): Promise<void> {
    if (file === undefined) {
      // Tokens then die with the process; fine for a single server, and clients simply log in again.
      this.#signKey = this.#verifyKey = randomBytes(32);
      return;
    }
    const text = await fsp.readFile(file, 'utf8').catch((err: Error) => {
      throw new WharfError('NOT_FOUND', `cannot read token key ${file}: ${err.message}`);
    });
    if (text.includes('-----BEGIN')) {
      const priv = createPrivateKey(text);
      this.#signKey = priv;
      this.#verifyKey = createPublicKey(priv);
      const kind = priv.asymmetricKeyType;
      if (kind === 'rsa') this.#alg = 'RS256';
      else if (kind === 'ec') this.#alg = 'ES256';
      else if (kind === 'ed25519') this.#alg = 'EdDSA';
      else
        throw new WharfError(
          'UNSUPPORTED',
          `token key ${file}: ${kind} keys are not supported (use RSA, EC P-256 or Ed25519)`,
        );
    } else {
      const secret = text.trim();
      if (secret.length < 16)
        throw new WharfError('INVALID_ARGUMENT', `token key ${file}: an HMAC secret needs at least 16 characters`);
      this.#signKey = this.#verifyKey = new TextEncoder().encode(secret);
    }
  }

  async #reloadUsers(force = false): Promise<void> {
    const file = this.cfg.htpasswd!.path;
    const now = Date.now();
    if (!force && now - this.#usersCheckedAt < 2000) return;
    this.#usersCheckedAt = now;
    const st = await fsp.stat(file).catch(() => undefined);
    if (!st) {
      if (force)
        throw new WharfError(
          'NOT_FOUND',
          `htpasswd file ${file} does not exist (create it with "wharf registry htpasswd")`,
        );
      return;
    }
    if (!force && st.mtimeMs === this.#usersMtime) return;
    this.#users = await readHtpasswd(file);
    this.#usersMtime = st.mtimeMs;
    this.#verified.clear();
  }

  /** Username if the password is right, else undefined. */
  async checkPassword(user: string, password: string): Promise<string | undefined> {
    await this.#reloadUsers();
    const key = createHash('sha256').update(`${user}\0${password}`).digest('hex');
    const until = this.#verified.get(key);
    if (until !== undefined && until > Date.now()) return user;
    const hash = this.#users.get(user);
    if (hash === undefined || !(await bcrypt.compare(password, hash))) return undefined;
    if (this.#verified.size > 10_000) this.#verified.clear();
    this.#verified.set(key, Date.now() + CACHE_TTL_MS);
    return user;
  }

  /** Basic credentials from a header, checked; 'bad' when present but wrong. */
  async basic(header: string | undefined): Promise<string | undefined | 'bad'> {
    if (!header || !/^basic /i.test(header)) return undefined;
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'bad';
    return (await this.checkPassword(decoded.slice(0, colon), decoded.slice(colon + 1))) ?? 'bad';
  }

  /** The principal of a request, or 'bad' when it carries wrong credentials. */
  async principalOf(req: IncomingMessage): Promise<Principal | 'bad'> {
    const h = req.headers.authorization;
    if (this.mode === 'none' || !h) return {};
    if (this.mode === 'bearer') {
      if (/^bearer /i.test(h)) return this.#verifyToken(h.slice(7).trim());
      // Basic on the registry API itself is accepted too, so curl and scripts need no token dance.
    }
    const user = await this.basic(h);
    if (user === 'bad') return 'bad';
    return user === undefined ? {} : { user };
  }

  async #verifyToken(token: string): Promise<Principal | 'bad'> {
    try {
      const { payload } = await jwtVerify(token, this.#verifyKey as KeyObject, {
        issuer: this.cfg.token!.issuer,
        audience: this.cfg.token!.service,
      });
      const access = Array.isArray(payload.access) ? (payload.access as Scope[]) : [];
      return { ...(payload.sub ? { user: payload.sub } : {}), granted: access };
    } catch {
      return 'bad';
    }
  }

  /** The token service: grants the requested scopes that the rules allow this user. */
  async issueToken(
    user: string | undefined,
    scopes: Scope[],
  ): Promise<{ token: string; expiresIn: number; issuedAt: Date }> {
    const t = this.cfg.token!;
    const granted: Scope[] = [];
    for (const s of scopes) {
      if (s.type === 'repository') {
        const allowed = this.policy.actionsFor(user, s.name);
        const actions = s.actions.flatMap((a) => (a === '*' ? [...allowed] : allowed.has(a as never) ? [a] : []));
        granted.push({ type: s.type, name: s.name, actions: [...new Set(actions)] });
      } else if (s.type === 'registry' && s.name === 'catalog') {
        granted.push({
          type: s.type,
          name: s.name,
          actions: user !== undefined || this.policy.anonymousAllowed ? ['*'] : [],
        });
      } else if (s.type === 'registry' && s.name === 'admin') {
        granted.push({
          type: s.type,
          name: s.name,
          actions: this.policy.isAdmin({ ...(user !== undefined ? { user } : {}) }) ? ['*'] : [],
        });
      }
    }
    const issuedAt = new Date();
    const token = await new SignJWT({ access: granted })
      .setProtectedHeader({ alg: this.#alg, typ: 'JWT' })
      .setIssuer(t.issuer)
      .setAudience(t.service)
      .setSubject(user ?? '')
      .setIssuedAt()
      .setNotBefore(Math.floor(issuedAt.getTime() / 1000) - 5)
      .setExpirationTime(Math.floor(issuedAt.getTime() / 1000) + t.expirationSec)
      .setJti(randomUUID())
      .sign(this.#signKey as KeyObject);
    return { token, expiresIn: t.expirationSec, issuedAt };
  }
}
