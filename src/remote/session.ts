import type { Readable } from 'node:stream';
import { WharfError } from '../errors/index.js';
import { isDigest } from '../digest/index.js';
import { Authenticator, withAuth, type AuthRequest } from './auth.js';
import { repositoryScope } from './challenge.js';
import type { Credentials } from './credentials.js';
import { networkError, registryError } from './errors.js';
import { tlsVerifyFor, type RegistryEndpoint } from './hosts.js';
import type { RemoteOptions } from './options.js';
import { ping, type PingResult } from './ping.js';
import { withRedirects, type RedirectableRequest } from './redirect.js';
import { withRetry, type RetryPolicy } from './retry.js';
import { Agents, discard, httpTransport, readBody, type HttpResponse, type RoundTrip } from './transport.js';

/** One API call, as the verb modules (manifests, blobs, uploads, listing, search) describe it. */
export interface RegistryCall {
  method: string;
  /** '/v2/…' on this registry, or an absolute URL (upload locations, Link targets). */
  path: string | URL;
  query?: Record<string, string | string[] | undefined>;
  headers?: Record<string, string>;
  /** A buffer may be re-sent on retry; a stream is sent once. */
  body?: Buffer | Readable;
  scopes: readonly string[];
  /** The statuses that are answers; any other is a typed error (registryError). */
  ok: readonly number[];
  /** What is being done, for error messages ('manifest for host/repo:tag'). */
  what: string;
  followRedirects?: boolean;
  /** Send the first attempt without credentials (a 401 then brings them in). */
  anonymousFirst?: boolean;
}

type PipelineRequest = AuthRequest & RedirectableRequest;

const MAX_ERROR_BODY = 64 * 1024;

/**
 * One registry's connection: the transport and the layers around it, composed as go-containerregistry composes its
 * RoundTrippers: retry(auth(redirects(transport))), after a ping that learns the base URL and the challenge. The verb
 * modules send their calls through `request`, which turns any answer outside `ok` into a typed error.
 */
export class RegistrySession {
  readonly endpoint: RegistryEndpoint;
  readonly retry: RetryPolicy;
  readonly #opts: RemoteOptions;
  readonly #agents: Agents;
  readonly #transport: RoundTrip;
  readonly #auth: Authenticator;
  readonly #pipeline: RoundTrip<PipelineRequest>;
  readonly #pushRepos = new Set<string>();
  #creds: Promise<Credentials | undefined> | undefined;
  #ping: Promise<PingResult> | undefined;

  constructor(endpoint: RegistryEndpoint, opts: RemoteOptions = {}) {
    this.endpoint = endpoint;
    this.#opts = opts;
    this.#agents = new Agents(opts.caFile);
    this.retry = {
      retries: opts.retries ?? 3,
      baseMs: opts.retryBaseMs ?? 250,
      ...(opts.signal ? { signal: opts.signal } : {}),
    };
    this.#transport = httpTransport({
      agents: this.#agents,
      tlsVerify: tlsVerifyFor(endpoint, opts.tlsVerify),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    this.#auth = new Authenticator({
      registry: endpoint.domain,
      credentials: () => this.#credentials(),
      send: this.#transport,
      tlsVerify: !endpoint.insecure && opts.tlsVerify !== false,
    });
    this.#pipeline = withRetry(withAuth(withRedirects(this.#transport), this.#auth), this.retry);
  }

  /** `GET /v2/`, once per session (again after a failure); every request waits for it. */
  ping(): Promise<PingResult> {
    this.#ping ??= ping(this.endpoint, this.#transport, this.retry, this.#opts.timeoutMs).then(
      (r) => {
        this.#auth.learn(r.challenge);
        return r;
      },
      (err: unknown) => {
        this.#ping = undefined;
        throw err;
      },
    );
    return this.#ping;
  }

  /** Sends one call through the layers; answers a response whose status is in `call.ok` (its body to be consumed). */
  async request(call: RegistryCall): Promise<HttpResponse> {
    const { base } = await this.ping();
    const url = call.path instanceof URL ? new URL(call.path.href) : new URL(call.path, base);
    for (const [k, v] of Object.entries(call.query ?? {})) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) url.searchParams.append(k, one);
    }
    let res: HttpResponse;
    try {
      res = await this.#pipeline({
        url,
        method: call.method,
        ...(call.headers ? { headers: call.headers } : {}),
        ...(call.body !== undefined ? { body: call.body } : {}),
        scopes: call.scopes,
        ...(call.followRedirects ? { followRedirects: true } : {}),
        ...(call.anonymousFirst ? { anonymousFirst: true } : {}),
      });
    } catch (err) {
      if (err instanceof WharfError) throw err;
      if ((err as Error).name === 'AbortError')
        throw new WharfError('CANCELLED', `${call.what}: cancelled`, { cause: err });
      throw networkError(this.endpoint.domain, err);
    }
    if (call.ok.includes(res.status)) return res;
    if (call.method === 'HEAD') {
      await discard(res);
      throw registryError(res.status, undefined, call.what);
    }
    const body = await readBody(res, MAX_ERROR_BODY, 'error response').catch(() => undefined);
    throw registryError(res.status, body, call.what);
  }

  /**
   * Verify that the configured credentials are accepted, as `docker login` does: a token without scope from a Bearer
   * registry, or an authenticated GET /v2/ from a Basic one.
   */
  async checkLogin(): Promise<void> {
    await this.ping();
    const ch = this.#auth.challenge;
    if (!ch) return;
    if (!(await this.#credentials()))
      throw new WharfError('UNAUTHORIZED', `${this.endpoint.domain}: authentication required`);
    if (ch.scheme === 'bearer') {
      await this.#auth.authorization([]);
      return;
    }
    await discard(
      await this.request({
        method: 'GET',
        path: '/v2/',
        scopes: [],
        ok: [200],
        what: `login to ${this.endpoint.domain}`,
      }),
    );
  }

  /** Ask for push access on `repo` from now on (tokens are scoped per repository and action). */
  allowPush(repo: string): void {
    this.#pushRepos.add(repo);
  }

  /** The token scopes of a call on `repo`: pull, or pull and push once allowed. */
  scopes(repo: string, extra: readonly string[] = []): string[] {
    return [repositoryScope(repo, this.#pushRepos.has(repo) ? 'pull,push' : 'pull'), ...extra];
  }

  /** 'host/repo', 'host/repo:tag' or 'host/repo@digest', for messages. */
  name(repo: string, reference?: string): string {
    const base = `${this.endpoint.domain}/${repo}`;
    if (!reference) return base;
    return isDigest(reference) ? `${base}@${reference}` : `${base}:${reference}`;
  }

  /** Close kept-alive connections. */
  close(): void {
    this.#agents.destroy();
  }

  #credentials(): Promise<Credentials | undefined> {
    this.#creds ??= this.#opts.credentials
      ? this.#opts.credentials.get(this.endpoint.domain)
      : Promise.resolve(undefined);
    return this.#creds;
  }
}
