import { Readable } from 'node:stream';
import { usableChallenge, type Challenge } from './challenge.js';
import type { Credentials } from './credentials.js';
import { basicAuth, fetchToken, type Token } from './token.js';
import { discard, type HttpRequest, type HttpResponse, type RoundTrip } from './transport.js';

/** A request the auth layer can authorize: the token scopes it needs. */
export interface AuthRequest extends HttpRequest {
  scopes: readonly string[];
  /** Send the first attempt without credentials (a 401 then brings them in). */
  anonymousFirst?: boolean;
}

export interface AuthenticatorOptions {
  /** The registry as named in references, for error messages. */
  registry: string;
  credentials: () => Promise<Credentials | undefined>;
  /** How token requests are sent (the bare transport: a token service is not the registry). */
  send: RoundTrip;
  /** Whether the token service's certificate is verified (as the registry's own is). */
  tlsVerify: boolean;
}

/**
 * The credentials side of one registry: the challenge it answers (learnt at ping, updated by later 401s), and the
 * Bearer tokens fetched for it, cached per set of scopes until shortly before they expire.
 */
export class Authenticator {
  readonly #opts: AuthenticatorOptions;
  readonly #tokens = new Map<string, Token>();
  #challenge: Challenge | undefined;

  constructor(opts: AuthenticatorOptions) {
    this.#opts = opts;
  }

  /** The challenge answered (undefined: the registry asked for none so far). */
  get challenge(): Challenge | undefined {
    return this.#challenge;
  }

  /** Take the challenge ping learnt. */
  learn(challenge: Challenge | undefined): void {
    this.#challenge = challenge;
  }

  credentials(): Promise<Credentials | undefined> {
    return this.#opts.credentials();
  }

  /** The Authorization header for a request needing `scopes`, or undefined when none can be sent. */
  async authorization(scopes: readonly string[]): Promise<string | undefined> {
    const ch = this.#challenge;
    if (!ch) return undefined;
    const creds = await this.credentials();
    if (ch.scheme === 'basic') return creds ? basicAuth(creds) : undefined;
    if (ch.scheme !== 'bearer') return undefined;
    const key = scopeKey(scopes);
    const cached = this.#tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    const t = await fetchToken(ch, scopes, creds, {
      send: this.#opts.send,
      tlsVerify: this.#opts.tlsVerify,
      registry: this.#opts.registry,
    });
    this.#tokens.set(key, t);
    return `Bearer ${t.token}`;
  }

  /**
   * A 401: learn a new challenge, take in a scope the registry says is missing, or drop a token that no longer
   * serves. Returns the scopes to retry with, or undefined when a retry cannot pass.
   */
  async reauthenticate(res: HttpResponse, scopes: readonly string[]): Promise<string[] | undefined> {
    const next = usableChallenge(res.headers['www-authenticate']);
    if (!next) return undefined;
    const had = this.#challenge;
    this.#challenge = next;
    if (next.scheme === 'bearer') {
      const hadToken = this.#tokens.delete(scopeKey(scopes));
      const wanted = (next.params.scope ?? '').split(' ').filter((x) => x !== '' && !scopes.includes(x));
      const fresh = had?.scheme !== 'bearer' || had.params.realm !== next.params.realm;
      return hadToken || fresh || wanted.length > 0 ? [...scopes, ...wanted] : undefined;
    }
    // Basic: worth a retry only if we did not send credentials before and now have some.
    return had?.scheme !== 'basic' && (await this.credentials()) !== undefined ? [...scopes] : undefined;
  }
}

function scopeKey(scopes: readonly string[]): string {
  return [...scopes].sort().join(' ');
}

/**
 * The auth layer: each request gets the Basic header or a Bearer token for its scopes; a 401 is answered once by
 * re-authenticating (a new challenge, a wider scope, a fresh token) and sending again. A streamed body cannot be sent
 * again, so its 401 is answered as it is.
 */
export function withAuth<R extends HttpRequest>(next: RoundTrip<R>, auth: Authenticator): RoundTrip<R & AuthRequest> {
  return async (req) => {
    const replayable = !(req.body instanceof Readable);
    let scopes = req.scopes;
    let anonymous = req.anonymousFirst ?? false;
    let reauthenticated = false;
    for (;;) {
      const headers: Record<string, string> = { ...req.headers };
      const authorization = anonymous ? undefined : await auth.authorization(scopes);
      if (authorization) headers.Authorization = authorization;
      const res = await next({ ...req, headers, scopes });
      if (res.status !== 401 || !replayable) return res;
      if (anonymous) {
        await discard(res);
        anonymous = false;
        if (!auth.challenge) await auth.reauthenticate(res, scopes);
        continue;
      }
      if (reauthenticated) return res;
      const retryWith = await auth.reauthenticate(res, scopes);
      if (!retryWith) return res;
      await discard(res);
      reauthenticated = true;
      scopes = retryWith;
    }
  };
}
