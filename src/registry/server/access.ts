import type { AccessRule, Action, RegistryConfig } from '../config.js';

/** Who is asking: a user name, or undefined for anonymous. */
export interface Principal {
  user?: string;
  /** Set for Bearer tokens: what the token grants (already filtered by the rules when it was issued). */
  granted?: Array<{ type: string; name: string; actions: string[] }>;
}

/** `*` stays inside one path component, `**` crosses them. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Per-repository rules: user or group → repository glob → pull/push/delete. Rules only add rights.
 * Without auth everyone may do everything; with auth and no rules, every authenticated user may.
 */
export class AccessPolicy {
  readonly #rules: Array<AccessRule & { res: RegExp[] }>;
  readonly #groups: Record<string, string[]>;
  readonly #admins: string[];
  readonly #authEnabled: boolean;

  constructor(cfg: Pick<RegistryConfig, 'access' | 'htpasswd'>) {
    this.#authEnabled = cfg.htpasswd !== undefined;
    this.#rules = cfg.access.rules.map((r) => ({ ...r, res: r.repositories.map(globToRegExp) }));
    this.#groups = cfg.access.groups;
    this.#admins = cfg.access.admins;
  }

  get authEnabled(): boolean {
    return this.#authEnabled;
  }

  #matchesUser(who: string[], user: string | undefined): boolean {
    for (const w of who) {
      // What anonymous clients may do, logged-in users may do too.
      if (w === 'anonymous') return true;
      if (user === undefined) continue;
      if (w === '*' || w === user) return true;
      if (w.startsWith('group:') && (this.#groups[w.slice(6)] ?? []).includes(user)) return true;
    }
    return false;
  }

  /** What the rules give `user` (undefined: anonymous) on `repo`. */
  actionsFor(user: string | undefined, repo: string): Set<Action> {
    if (!this.#authEnabled) return new Set(['pull', 'push', 'delete']);
    if (this.#rules.length === 0) return new Set(user !== undefined ? ['pull', 'push', 'delete'] : []);
    const out = new Set<Action>();
    for (const r of this.#rules) {
      if (!this.#matchesUser(r.users, user) || !r.res.some((re) => re.test(repo))) continue;
      for (const a of r.actions) out.add(a);
    }
    return out;
  }

  /** Whether anonymous clients get anything at all (then `/v2/` and the catalog answer without credentials). */
  get anonymousAllowed(): boolean {
    return !this.#authEnabled || this.#rules.some((r) => r.users.includes('anonymous'));
  }

  allowed(p: Principal, repo: string, action: Action): boolean {
    if (p.granted)
      return p.granted.some(
        (g) => g.type === 'repository' && g.name === repo && (g.actions.includes(action) || g.actions.includes('*')),
      );
    return this.actionsFor(p.user, repo).has(action);
  }

  /** For listings (catalog, search): what the rules let this user pull, whatever scopes a token carries. */
  mayList(p: Principal, repo: string): boolean {
    return this.actionsFor(p.user, repo).has('pull');
  }

  isAdmin(p: Principal): boolean {
    if (!this.#authEnabled) return true;
    if (p.user === undefined) return false;
    if (p.granted && !p.granted.some((g) => g.type === 'registry' && g.name === 'admin')) return false;
    if (this.#admins.length === 0) return this.#rules.length === 0;
    return this.#matchesUser(this.#admins, p.user);
  }
}
