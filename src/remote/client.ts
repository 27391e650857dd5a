import { Readable } from 'node:stream';
import { WharfError, is } from '../errors/index.js';
import { algorithmOf, digestOf, isDigest, type Digest } from '../digest/index.js';
import { MAX_MANIFEST_BYTES, MediaType, baseMediaType } from '../oci/index.js';
import { basicAuth, fetchToken, parseChallenges, repositoryScope, type Challenge, type Token } from './auth.js';
import type { Credentials } from './credentials.js';
import { isTransientNetworkError, networkError, registryError } from './errors.js';
import { endpointFor, type RegistryEndpoint } from './hosts.js';
import { nextLink, parseContentRange } from './links.js';
import { Agents, discard, header, readBody, sendHttp, sleep, type HttpResponse } from './transport.js';

/** Where credentials come from: a CredentialStore, or any lookup by registry domain. */
export interface CredentialSource {
  get(domain: string): Promise<Credentials | undefined>;
}

export interface RemoteOptions {
  credentials?: CredentialSource;
  /** host[:port] or CIDR entries allowed to use plain HTTP / unverified TLS (Docker's insecure-registries). */
  insecureRegistries?: readonly string[];
  /** false: accept any TLS certificate from every registry (`--tls-verify=false`). */
  tlsVerify?: boolean;
  /** Retries of a failed request (5xx, 429, connection reset), with exponential backoff. Default 3. */
  retries?: number;
  /** The first backoff; doubles per retry. Default 250 ms. */
  retryBaseMs?: number;
  /** Socket idle timeout. Default 60 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The accepted manifest kinds, most wanted first. */
export const MANIFEST_ACCEPT = [MediaType.OCIIndex, MediaType.DockerManifestList, MediaType.OCIManifest, MediaType.DockerManifest].join(', ');

/** A manifest or index as the registry served it; `digest` is over `raw`. */
export interface RemoteManifest {
  raw: Buffer;
  mediaType: string;
  digest: Digest;
}

export interface RemoteDescriptor {
  mediaType: string;
  digest: Digest;
  size: number;
}

/** An upload in progress: where the next PATCH or the final PUT goes. */
export interface UploadSession {
  repo: string;
  location: URL;
}

export interface SearchResult {
  name: string;
  description: string;
  starCount: number;
  isOfficial: boolean;
  isAutomated: boolean;
}

export interface Page {
  items: string[];
  /** The next page's URL (from `Link`), when there is one. */
  next?: string;
}

export interface OpenBlobOptions {
  /** Start at this byte (to resume an earlier partial download). */
  start?: number;
  /** The blob's size when known (from a descriptor): a response that ends short is resumed. */
  size?: number;
  /** How many times a dropped connection is resumed with Range before giving up. Default 5. */
  maxResumes?: number;
  /** Told of each resume, for progress displays and tests. */
  onResume?: (offset: number, cause: unknown) => void;
}

interface Call {
  method: string;
  /** '/v2/…' on this registry, or an absolute URL (upload locations, Link targets). */
  path: string | URL;
  query?: Record<string, string | string[] | undefined>;
  headers?: Record<string, string>;
  /** A buffer may be re-sent on retry; a stream is sent once. */
  body?: Buffer | Readable;
  scopes: string[];
  ok: number[];
  what: string;
  followRedirects?: boolean;
  /** Send the first attempt without credentials (a 401 then brings them in). */
  anonymousFirst?: boolean;
}

const MAX_ERROR_BODY = 64 * 1024;
const MAX_JSON_BODY = 8 * 1024 * 1024;
const MAX_PAGES = 100_000;

/**
 * A client for one registry (OCI distribution-spec / Docker registry API v2): ping, auth challenges, manifests,
 * blobs (with resumable downloads and uploads), tags, catalog and search. Layered like go-containerregistry's
 * transport: ping learns the auth scheme, each request gets a Basic header or a Bearer token for its scope, and
 * failed requests are retried with backoff. Pure HTTP: knows nothing of where blobs are stored locally.
 */
export class RegistryClient {
  readonly endpoint: RegistryEndpoint;
  readonly #opts: RemoteOptions;
  readonly #agents = new Agents();
  #ping: Promise<void> | undefined;
  #base: URL | undefined;
  #challenge: Challenge | undefined;
  #creds: Promise<Credentials | undefined> | undefined;
  readonly #tokens = new Map<string, Token>();
  readonly #pushRepos = new Set<string>();

  constructor(endpoint: RegistryEndpoint, opts: RemoteOptions = {}) {
    this.endpoint = endpoint;
    this.#opts = opts;
  }

  /** A client for the registry of a reference domain ('docker.io', 'localhost:5000'). */
  static forDomain(domain: string, opts: RemoteOptions = {}): RegistryClient {
    const ep = endpointFor(domain, opts.insecureRegistries ? { insecureRegistries: opts.insecureRegistries } : {});
    return new RegistryClient(ep, opts);
  }

  /** Close kept-alive connections. */
  close(): void {
    this.#agents.destroy();
  }

  /** Ask for push access on `repo` from now on (tokens are scoped per repository and action). */
  allowPush(repo: string): void {
    this.#pushRepos.add(repo);
  }

  get #tlsVerify(): boolean {
    return !this.endpoint.insecure && this.#opts.tlsVerify !== false;
  }

  // ---------------------------------------------------------------- ping and auth

  /**
   * GET /v2/: learns the scheme (HTTPS, or plain HTTP for an insecure registry that does not speak TLS) and the auth
   * challenge. Done once per client; every request waits for it.
   */
  ping(): Promise<void> {
    this.#ping ??= this.#doPing().catch((err) => {
      this.#ping = undefined;
      throw err;
    });
    return this.#ping;
  }

  /** The auth challenge learnt from ping (undefined: the registry needs none so far). */
  get challenge(): Challenge | undefined {
    return this.#challenge;
  }

  /** The base URL ('https://host/') once pinged. */
  get baseUrl(): URL | undefined {
    return this.#base;
  }

  async #doPing(): Promise<void> {
    const schemes = this.endpoint.insecure ? ['https', 'http'] : ['https'];
    let lastErr: unknown;
    for (const scheme of schemes) {
      const base = new URL(`${scheme}://${this.endpoint.apiHost}/`);
      for (let attempt = 0; ; attempt++) {
        let res: HttpResponse;
        try {
          res = await sendHttp(
            { url: new URL('/v2/', base), method: 'GET', tlsVerify: this.#tlsVerify, timeoutMs: Math.min(this.#opts.timeoutMs ?? 60_000, 30_000), ...this.#signal() },
            this.#agents,
          );
        } catch (err) {
          lastErr = err;
          // A TLS handshake against a plain-HTTP server fails at once: try the next scheme instead of retrying.
          const code = (err as NodeJS.ErrnoException).code ?? '';
          if (scheme === 'https' && schemes.length > 1) break;
          if (isTransientNetworkError(err) && code !== 'ECONNREFUSED' && attempt < this.#retries()) {
            await sleep(this.#backoff(attempt), this.#opts.signal);
            continue;
          }
          throw networkError(this.endpoint.domain, err);
        }
        const body = await readBody(res, MAX_ERROR_BODY, 'ping response').catch(() => Buffer.alloc(0));
        if (res.status >= 500 && attempt < this.#retries()) {
          await sleep(this.#backoff(attempt), this.#opts.signal);
          continue;
        }
        if (res.status === 200 || res.status === 401) {
          this.#base = base;
          const ch = parseChallenges(res.headers['www-authenticate']);
          this.#challenge = ch.find((c) => c.scheme === 'bearer') ?? ch.find((c) => c.scheme === 'basic');
          if (res.status === 401 && !this.#challenge) {
            throw new WharfError('UNAVAILABLE', `registry ${this.endpoint.domain} requires authentication but sent no usable challenge`);
          }
          return;
        }
        if (res.status === 404) {
          throw new WharfError('UNAVAILABLE', `${this.endpoint.domain} is not a registry: GET /v2/ answered 404`);
        }
        throw registryError(res.status, body, `pinging registry ${this.endpoint.domain}`);
      }
    }
    throw networkError(this.endpoint.domain, lastErr);
  }

  #credentials(): Promise<Credentials | undefined> {
    this.#creds ??= this.#opts.credentials ? this.#opts.credentials.get(this.endpoint.domain) : Promise.resolve(undefined);
    return this.#creds;
  }

  /** Use these credentials instead of the configured ones (`login` checks them before saving). */
  useCredentials(creds: Credentials | undefined): void {
    this.#creds = Promise.resolve(creds);
    this.#tokens.clear();
  }

  async #authorization(scopes: string[]): Promise<string | undefined> {
    const ch = this.#challenge;
    if (!ch) return undefined;
    const creds = await this.#credentials();
    if (ch.scheme === 'basic') return creds ? basicAuth(creds) : undefined;
    if (ch.scheme !== 'bearer') return undefined;
    const key = [...scopes].sort().join(' ');
    const cached = this.#tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    const t = await fetchToken(ch, scopes, creds, {
      agents: this.#agents,
      tlsVerify: this.#tlsVerify,
      registry: this.endpoint.domain,
      ...this.#signal(),
    });
    this.#tokens.set(key, t);
    return `Bearer ${t.token}`;
  }

  /**
   * Verify that the configured credentials are accepted, as `docker login` does: a token without scope from a Bearer
   * registry, or an authenticated GET /v2/ from a Basic one.
   */
  async checkLogin(): Promise<void> {
    await this.ping();
    const creds = await this.#credentials();
    if (!this.#challenge) return;
    if (!creds) throw new WharfError('UNAUTHORIZED', `${this.endpoint.domain}: authentication required`);
    if (this.#challenge.scheme === 'bearer') {
      await this.#authorization([]);
      return;
    }
    const res = await this.#request({ method: 'GET', path: '/v2/', scopes: [], ok: [200], what: `login to ${this.endpoint.domain}` });
    await discard(res);
  }

  // ---------------------------------------------------------------- the request pipeline

  #signal(): { signal?: AbortSignal } {
    return this.#opts.signal ? { signal: this.#opts.signal } : {};
  }
  #retries(): number {
    return this.#opts.retries ?? 3;
  }
  #backoff(attempt: number): number {
    return (this.#opts.retryBaseMs ?? 250) * 2 ** attempt;
  }

  #url(call: Call): URL {
    const url = call.path instanceof URL ? new URL(call.path.href) : new URL(call.path, this.#base);
    for (const [k, v] of Object.entries(call.query ?? {})) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) url.searchParams.append(k, one);
    }
    return url;
  }

  async #request(call: Call): Promise<HttpResponse> {
    await this.ping();
    const replayable = !(call.body instanceof Readable);
    const maxAttempts = replayable ? this.#retries() + 1 : 1;
    let authRetried = false;
    let scopes = call.scopes;
    let anonymous = call.anonymousFirst ?? false;
    for (let attempt = 0; ; attempt++) {
      const url = this.#url(call);
      const headers: Record<string, string> = { ...call.headers };
      const auth = anonymous ? undefined : await this.#authorization(scopes);
      if (auth) headers.Authorization = auth;
      let res: HttpResponse;
      try {
        res = await this.#sendFollowing(url, call.method, headers, call.body, call.followRedirects ?? false);
      } catch (err) {
        if (err instanceof WharfError) throw err;
        if ((err as Error).name === 'AbortError') throw new WharfError('CANCELLED', `${call.what}: cancelled`, { cause: err });
        if (isTransientNetworkError(err) && attempt + 1 < maxAttempts) {
          await sleep(this.#backoff(attempt), this.#opts.signal);
          continue;
        }
        throw networkError(this.endpoint.domain, err);
      }
      if (res.status === 401 && anonymous && replayable) {
        await discard(res);
        anonymous = false;
        if (!this.#challenge) await this.#reauthenticate(res, scopes);
        attempt--;
        continue;
      }
      if (res.status === 401 && !authRetried && replayable) {
        const retryWith = await this.#reauthenticate(res, scopes);
        if (retryWith) {
          await discard(res);
          authRetried = true;
          scopes = retryWith;
          attempt--;
          continue;
        }
      }
      if (call.ok.includes(res.status)) return res;
      if ((res.status >= 500 || res.status === 429) && attempt + 1 < maxAttempts) {
        const wait = retryAfterMs(header(res, 'retry-after')) ?? this.#backoff(attempt);
        await discard(res);
        await sleep(Math.min(wait, 10_000), this.#opts.signal);
        continue;
      }
      const body = call.method === 'HEAD' ? undefined : await readBody(res, MAX_ERROR_BODY, 'error response').catch(() => undefined);
      if (call.method === 'HEAD') await discard(res);
      throw registryError(res.status, body, call.what);
    }
  }

  /**
   * A 401 after ping: learn a new challenge, take in a scope the registry says is missing, or drop a token that no
   * longer serves. Returns the scopes to retry with, or undefined when a retry cannot pass.
   */
  async #reauthenticate(res: HttpResponse, scopes: string[]): Promise<string[] | undefined> {
    const ch = parseChallenges(res.headers['www-authenticate']);
    const next = ch.find((c) => c.scheme === 'bearer') ?? ch.find((c) => c.scheme === 'basic');
    if (!next) return undefined;
    const had = this.#challenge;
    this.#challenge = next;
    if (next.scheme === 'bearer') {
      const hadToken = this.#tokens.delete([...scopes].sort().join(' '));
      const wanted = (next.params.scope ?? '').split(' ').filter((x) => x !== '' && !scopes.includes(x));
      const fresh = had?.scheme !== 'bearer' || had.params.realm !== next.params.realm;
      return hadToken || fresh || wanted.length > 0 ? [...scopes, ...wanted] : undefined;
    }
    // Basic: worth a retry only if we did not send credentials before and now have some.
    return had?.scheme !== 'basic' && (await this.#credentials()) !== undefined ? scopes : undefined;
  }

  async #sendFollowing(url: URL, method: string, headers: Record<string, string>, body: Buffer | Readable | undefined, follow: boolean): Promise<HttpResponse> {
    let current = url;
    let hdrs = headers;
    for (let hop = 0; ; hop++) {
      const res = await sendHttp(
        {
          url: current,
          method,
          headers: hdrs,
          ...(body !== undefined ? { body } : {}),
          tlsVerify: current.host === this.#base?.host ? this.#tlsVerify : this.#opts.tlsVerify !== false,
          ...(this.#opts.timeoutMs ? { timeoutMs: this.#opts.timeoutMs } : {}),
          ...this.#signal(),
        },
        this.#agents,
      );
      const loc = header(res, 'location');
      if (!follow || ![301, 302, 303, 307, 308].includes(res.status) || !loc || hop >= 5) return res;
      await discard(res);
      const next = new URL(loc, current);
      // Blob downloads are redirected to storage (S3, a CDN) that must not see our registry credentials.
      if (next.host !== current.host) {
        hdrs = { ...hdrs };
        delete hdrs.Authorization;
      }
      current = next;
    }
  }

  #scopes(repo: string, extra: string[] = []): string[] {
    return [repositoryScope(repo, this.#pushRepos.has(repo) ? 'pull,push' : 'pull'), ...extra];
  }

  #name(repo: string, reference?: string): string {
    const base = `${this.endpoint.domain}/${repo}`;
    if (!reference) return base;
    return isDigest(reference) ? `${base}@${reference}` : `${base}:${reference}`;
  }

  // ---------------------------------------------------------------- manifests

  /** GET a manifest or index by tag or digest; checks the bytes against the digest asked for and Docker-Content-Digest. */
  async getManifest(repo: string, reference: string): Promise<RemoteManifest> {
    const name = this.#name(repo, reference);
    let res: HttpResponse;
    try {
      res = await this.#request({
        method: 'GET',
        path: `/v2/${repo}/manifests/${reference}`,
        headers: { Accept: MANIFEST_ACCEPT },
        scopes: this.#scopes(repo),
        ok: [200],
        what: `manifest for ${name}`,
      });
    } catch (err) {
      throw notFoundAs(err, `manifest for ${name} not found`);
    }
    const raw = await readBody(res, MAX_MANIFEST_BYTES, `manifest for ${name}`);
    const mediaType = baseMediaType(header(res, 'content-type') ?? '');
    const digest = checkManifestDigest(raw, reference, header(res, 'docker-content-digest'), name);
    return { raw, mediaType, digest };
  }

  /** HEAD a manifest: its descriptor, or undefined when the registry does not have it. */
  async headManifest(repo: string, reference: string): Promise<RemoteDescriptor | undefined> {
    const name = this.#name(repo, reference);
    const res = await this.#request({
      method: 'HEAD',
      path: `/v2/${repo}/manifests/${reference}`,
      headers: { Accept: MANIFEST_ACCEPT },
      scopes: this.#scopes(repo),
      ok: [200, 404],
      what: `manifest for ${name}`,
    });
    await discard(res);
    if (res.status === 404) return undefined;
    const dcd = header(res, 'docker-content-digest');
    const size = Number(header(res, 'content-length'));
    if (dcd && isDigest(dcd) && Number.isFinite(size)) {
      return { mediaType: baseMediaType(header(res, 'content-type') ?? ''), digest: dcd, size };
    }
    // Some registries leave the digest out of HEAD answers: fall back to fetching the manifest.
    const m = await this.getManifest(repo, reference);
    return { mediaType: m.mediaType, digest: m.digest, size: m.raw.length };
  }

  /** PUT a manifest by tag or digest; returns its digest (checked against the registry's Docker-Content-Digest). */
  async putManifest(repo: string, reference: string, raw: Buffer, mediaType: string): Promise<Digest> {
    if (raw.length > MAX_MANIFEST_BYTES) throw new WharfError('TOO_LARGE', `manifest is ${raw.length} bytes, more than the ${MAX_MANIFEST_BYTES}-byte limit`);
    const name = this.#name(repo, reference);
    const res = await this.#request({
      method: 'PUT',
      path: `/v2/${repo}/manifests/${reference}`,
      headers: { 'Content-Type': mediaType },
      body: raw,
      scopes: this.#scopes(repo),
      ok: [200, 201, 202, 204],
      what: `pushing manifest for ${name}`,
    });
    await discard(res);
    const digest = digestOf(raw);
    const dcd = header(res, 'docker-content-digest');
    if (dcd && isDigest(dcd) && algorithmOf(dcd) === 'sha256' && dcd !== digest) {
      throw new WharfError('DIGEST_MISMATCH', `registry stored manifest ${name} as ${dcd}, but it hashes to ${digest}`);
    }
    return digest;
  }

  async deleteManifest(repo: string, digest: Digest): Promise<void> {
    const res = await this.#request({
      method: 'DELETE',
      path: `/v2/${repo}/manifests/${digest}`,
      scopes: [repositoryScope(repo, 'delete')],
      ok: [200, 202, 204],
      what: `deleting manifest ${this.#name(repo, digest)}`,
    });
    await discard(res);
  }

  // ---------------------------------------------------------------- blobs

  /** HEAD a blob: its size, or undefined when the repository does not have it. */
  async headBlob(repo: string, digest: Digest): Promise<number | undefined> {
    const res = await this.#request({
      method: 'HEAD',
      path: `/v2/${repo}/blobs/${digest}`,
      scopes: this.#scopes(repo),
      ok: [200, 404],
      what: `blob ${digest} in ${this.#name(repo)}`,
      followRedirects: true,
    });
    await discard(res);
    if (res.status === 404) return undefined;
    const size = Number(header(res, 'content-length'));
    return Number.isFinite(size) ? size : -1;
  }

  /** A small blob (a config) whole, verified against its digest. */
  async fetchBlob(repo: string, digest: Digest, maxBytes: number): Promise<Buffer> {
    const what = `blob ${digest} in ${this.#name(repo)}`;
    let res: HttpResponse;
    try {
      res = await this.#request({ method: 'GET', path: `/v2/${repo}/blobs/${digest}`, scopes: this.#scopes(repo), ok: [200], what, followRedirects: true });
    } catch (err) {
      throw notFoundAs(err, `${what} not found`);
    }
    const data = await readBody(res, maxBytes, what);
    const got = digestOf(data, algorithmOf(digest));
    if (got !== digest) throw new WharfError('DIGEST_MISMATCH', `${what}: content hashes to ${got}`);
    return data;
  }

  /**
   * A blob's bytes from `start`, as a stream that survives dropped connections: it reconnects with
   * `Range: bytes=<offset>-` (skipping bytes itself when the registry ignores Range) up to `maxResumes` times.
   * The caller verifies the digest.
   */
  openBlob(repo: string, digest: Digest, opts: OpenBlobOptions = {}): Readable {
    const what = `blob ${digest} in ${this.#name(repo)}`;
    const maxResumes = opts.maxResumes ?? 5;
    const self = this;
    async function* chunks(): AsyncGenerator<Buffer> {
      let offset = opts.start ?? 0;
      let resumes = 0;
      let total = opts.size;
      if (total !== undefined && offset >= total) return;
      for (;;) {
        let res: HttpResponse;
        try {
          res = await self.#request({
            method: 'GET',
            path: `/v2/${repo}/blobs/${digest}`,
            headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
            scopes: self.#scopes(repo),
            ok: [200, 206],
            what,
            followRedirects: true,
          });
        } catch (err) {
          if (is(err, 'UNAVAILABLE') && resumes < maxResumes) {
            resumes++;
            opts.onResume?.(offset, err);
            await sleep(self.#backoff(Math.min(resumes, 4)), self.#opts.signal);
            continue;
          }
          throw notFoundAs(err, `${what} not found`);
        }
        let skip = 0;
        let end: number | undefined;
        const len = Number(header(res, 'content-length'));
        if (res.status === 206) {
          const cr = parseContentRange(header(res, 'content-range'));
          if (!cr || cr.start !== offset) {
            res.body.destroy();
            throw new WharfError('UNAVAILABLE', `${what}: registry answered Range ${offset}- with ${header(res, 'content-range') ?? 'no Content-Range'}`);
          }
          if (cr.total !== undefined) total ??= cr.total;
          end = cr.end + 1;
        } else {
          // 200: the whole blob, whatever we asked for.
          skip = offset;
          if (Number.isFinite(len)) {
            end = len;
            total ??= len;
          }
        }
        let progressed = 0;
        try {
          for await (const c of res.body) {
            let b = c as Buffer;
            if (skip > 0) {
              if (b.length <= skip) {
                skip -= b.length;
                continue;
              }
              b = b.subarray(skip);
              skip = 0;
            }
            offset += b.length;
            progressed += b.length;
            yield b;
          }
          const want = total ?? end;
          if (want === undefined || offset >= want) return;
          throw Object.assign(new Error(`${what}: connection closed at byte ${offset} of ${want}`), { code: 'ECONNRESET' });
        } catch (err) {
          res.body.destroy();
          if (!isTransientNetworkError(err) && (err as Error).message !== 'aborted') throw networkError(self.endpoint.domain, err);
          // A resume that made real progress does not count against the limit of a slowly failing link.
          if (progressed >= 1 << 20 && resumes > 0) resumes--;
          if (resumes >= maxResumes) throw networkError(self.endpoint.domain, err);
          resumes++;
          opts.onResume?.(offset, err);
          await sleep(self.#backoff(Math.min(resumes - 1, 4)), self.#opts.signal);
        }
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  /**
   * Start an upload (POST). With `mount`, ask the registry to link the blob from another repository instead:
   * `{ mounted: true }` when it did, else an upload session to send the bytes to.
   */
  async startUpload(repo: string, mount?: { digest: Digest; from: string }): Promise<{ mounted: true } | { mounted: false; session: UploadSession }> {
    const extra = mount ? [repositoryScope(mount.from, 'pull')] : [];
    const res = await this.#request({
      method: 'POST',
      path: `/v2/${repo}/blobs/uploads/`,
      query: mount ? { mount: mount.digest, from: mount.from } : {},
      scopes: this.#scopes(repo, extra),
      ok: [201, 202],
      what: `starting an upload to ${this.#name(repo)}`,
    });
    await discard(res);
    if (res.status === 201 && mount) return { mounted: true };
    return { mounted: false, session: { repo, location: this.#location(res, repo) } };
  }

  /** Stream bytes into an upload (one PATCH, chunked transfer encoding); returns the session to continue with. */
  async patchUpload(session: UploadSession, src: Readable): Promise<UploadSession> {
    const res = await this.#request({
      method: 'PATCH',
      path: session.location,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: src,
      scopes: this.#scopes(session.repo),
      ok: [202, 204],
      what: `uploading to ${this.#name(session.repo)}`,
    });
    await discard(res);
    return { repo: session.repo, location: header(res, 'location') ? this.#location(res, session.repo) : session.location };
  }

  /** Finish an upload with `PUT ?digest=` (optionally carrying the last or only bytes); the registry verifies the digest. */
  async completeUpload(session: UploadSession, digest: Digest, body?: Buffer): Promise<void> {
    const url = new URL(session.location.href);
    url.searchParams.set('digest', digest);
    const res = await this.#request({
      method: 'PUT',
      path: url,
      headers: { 'Content-Type': 'application/octet-stream' },
      ...(body ? { body } : {}),
      scopes: this.#scopes(session.repo),
      ok: [201, 204],
      what: `finishing the upload of ${digest} to ${this.#name(session.repo)}`,
    });
    await discard(res);
    const dcd = header(res, 'docker-content-digest');
    if (dcd && isDigest(dcd) && dcd !== digest) {
      throw new WharfError('DIGEST_MISMATCH', `registry stored the upload to ${this.#name(session.repo)} as ${dcd}, not ${digest}`);
    }
  }

  async cancelUpload(session: UploadSession): Promise<void> {
    try {
      const res = await this.#request({ method: 'DELETE', path: session.location, scopes: this.#scopes(session.repo), ok: [200, 202, 204, 404], what: 'cancelling an upload' });
      await discard(res);
    } catch {
      // the registry purges abandoned uploads itself
    }
  }

  /** Upload a small blob held in memory (a config): POST then one PUT, the whole exchange retried on failure. */
  async pushBlob(repo: string, data: Buffer, digest: Digest): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const started = await this.startUpload(repo);
        if (started.mounted) return;
        await this.completeUpload(started.session, digest, data);
        return;
      } catch (err) {
        if (!is(err, 'UNAVAILABLE') && !is(err, 'NOT_FOUND')) throw err;
        if (attempt >= this.#retries()) throw err;
        await sleep(this.#backoff(attempt), this.#opts.signal);
      }
    }
  }

  #location(res: HttpResponse, repo: string): URL {
    const loc = header(res, 'location');
    if (!loc) throw new WharfError('UNAVAILABLE', `registry ${this.endpoint.domain} started an upload to ${repo} without a Location`);
    return new URL(loc, res.url);
  }

  // ---------------------------------------------------------------- tags, catalog, search

  /** One page of tags (`n`, `last`), with the next page's URL from `Link`. */
  async tagsPage(repo: string, opts: { n?: number; last?: string; url?: string } = {}): Promise<Page> {
    return this.#page(
      opts.url ?? `/v2/${repo}/tags/list`,
      opts.url ? {} : { n: opts.n !== undefined ? String(opts.n) : undefined, last: opts.last },
      this.#scopes(repo),
      `listing tags of ${this.#name(repo)}`,
      'tags',
    );
  }

  /** Every tag of a repository, following `Link` from page to page. */
  async listTags(repo: string, opts: { pageSize?: number } = {}): Promise<string[]> {
    return this.#all((url) => this.tagsPage(repo, url ? { url } : opts.pageSize ? { n: opts.pageSize } : {}));
  }

  async catalogPage(opts: { n?: number; last?: string; url?: string } = {}): Promise<Page> {
    return this.#page(
      opts.url ?? '/v2/_catalog',
      opts.url ? {} : { n: opts.n !== undefined ? String(opts.n) : undefined, last: opts.last },
      ['registry:catalog:*'],
      `listing the catalog of ${this.endpoint.domain}`,
      'repositories',
    );
  }

  /** Every repository of the registry, following `Link` from page to page. */
  async catalog(opts: { pageSize?: number } = {}): Promise<string[]> {
    return this.#all((url) => this.catalogPage(url ? { url } : opts.pageSize ? { n: opts.pageSize } : {}));
  }

  async #all(page: (url?: string) => Promise<Page>): Promise<string[]> {
    const out: string[] = [];
    const seen = new Set<string>();
    let url: string | undefined;
    for (let i = 0; i < MAX_PAGES; i++) {
      const p = await page(url);
      out.push(...p.items);
      if (!p.next || seen.has(p.next)) return out;
      seen.add(p.next);
      url = p.next;
    }
    throw new WharfError('UNAVAILABLE', `registry ${this.endpoint.domain} returned more than ${MAX_PAGES} pages`);
  }

  async #page(path: string, query: Record<string, string | undefined>, scopes: string[], what: string, key: 'tags' | 'repositories'): Promise<Page> {
    const res = await this.#request({ method: 'GET', path: path.startsWith('http') ? new URL(path) : path, query, scopes, ok: [200], what });
    const body = await readBody(res, MAX_JSON_BODY, what);
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new WharfError('UNAVAILABLE', `${what}: the registry answered with invalid JSON`);
    }
    const raw = doc[key];
    const items = Array.isArray(raw) ? raw.filter((x): x is string => typeof x === 'string') : [];
    const link = nextLink(res.headers.link);
    const page: Page = { items };
    if (link) page.next = new URL(link, res.url).href;
    return page;
  }

  /** `GET /v1/search?q=&n=` (Docker Hub's index and registries that offer the v1 search API). */
  async search(term: string, limit = 25): Promise<SearchResult[]> {
    const res = await this.#request({
      method: 'GET',
      path: '/v1/search',
      query: { q: term, n: String(limit) },
      // Search is public on Docker Hub, and a token can narrow what a registry shows: ask anonymously first, and
      // with credentials (and the catalog scope that guarded registries want) only when refused.
      scopes: ['registry:catalog:*'],
      anonymousFirst: true,
      ok: [200, 404, 405],
      what: `searching ${this.endpoint.domain}`,
    });
    if (res.status !== 200) {
      await discard(res);
      throw new WharfError('UNSUPPORTED', `registry ${this.endpoint.domain} does not offer search (GET /v1/search answered ${res.status})`);
    }
    return this.#searchResults(res, limit);
  }

  async #searchResults(res: HttpResponse, limit: number): Promise<SearchResult[]> {
    const body = await readBody(res, MAX_JSON_BODY, 'search results');
    let doc: { results?: unknown };
    try {
      doc = JSON.parse(body.toString('utf8')) as typeof doc;
    } catch {
      throw new WharfError('UNAVAILABLE', `searching ${this.endpoint.domain}: the registry answered with invalid JSON`);
    }
    const rows = Array.isArray(doc.results) ? (doc.results as Array<Record<string, unknown>>) : [];
    return rows
      .filter((r) => typeof r === 'object' && r !== null && typeof r.name === 'string')
      .slice(0, limit)
      .map((r) => ({
        name: r.name as string,
        description: typeof r.description === 'string' ? r.description : '',
        starCount: typeof r.star_count === 'number' ? r.star_count : 0,
        isOfficial: r.is_official === true,
        isAutomated: r.is_automated === true,
      }));
  }
}

/** Checks a served manifest: it must hash to the digest asked for, and to the registry's Docker-Content-Digest. */
export function checkManifestDigest(raw: Buffer, reference: string, dockerContentDigest: string | undefined, name: string): Digest {
  const asked = isDigest(reference) ? reference : undefined;
  const digest = digestOf(raw, asked ? algorithmOf(asked) : 'sha256');
  if (asked && digest !== asked) throw new WharfError('DIGEST_MISMATCH', `manifest ${name}: content hashes to ${digest}, not the digest asked for`);
  if (dockerContentDigest && isDigest(dockerContentDigest)) {
    const own = algorithmOf(dockerContentDigest) === algorithmOf(digest) ? digest : digestOf(raw, algorithmOf(dockerContentDigest));
    if (own !== dockerContentDigest) {
      throw new WharfError('DIGEST_MISMATCH', `manifest ${name}: registry says ${dockerContentDigest} but the content hashes to ${own}`);
    }
  }
  return asked ?? digestOf(raw);
}

function notFoundAs(err: unknown, message: string): unknown {
  if (!is(err, 'NOT_FOUND')) return err;
  const reason = err.message.slice(err.message.indexOf(': ') + 2);
  return new WharfError('NOT_FOUND', `${message}: ${reason}`, { cause: err, ...(err.details ? { details: err.details } : {}) });
}

function retryAfterMs(v: string | undefined): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}
