import { Blobs } from './blobs.js';
import { endpointFor, type RegistryEndpoint } from './hosts.js';
import { Catalog, Tags } from './listing.js';
import { Manifests } from './manifests.js';
import type { RemoteOptions } from './options.js';
import type { PingResult } from './ping.js';
import { search, type SearchResult } from './search.js';
import { RegistrySession } from './session.js';
import { Uploads } from './uploads.js';

/**
 * A client for one registry (OCI distribution-spec / Docker registry API v2). A thin facade: the session holds the
 * transport and its layers (ping, auth, retry, redirects: session.ts), and the verbs are grouped by resource as
 * distribution's client groups them: `manifests`, `blobs`, `uploads`, `tags`, `catalog`, and `search`. Pure HTTP:
 * knows nothing of where blobs are stored locally.
 */
export class RegistryClient {
  readonly endpoint: RegistryEndpoint;
  readonly manifests: Manifests;
  readonly blobs: Blobs;
  readonly uploads: Uploads;
  readonly tags: Tags;
  readonly catalog: Catalog;
  readonly #session: RegistrySession;

  constructor(endpoint: RegistryEndpoint, opts: RemoteOptions = {}) {
    this.endpoint = endpoint;
    this.#session = new RegistrySession(endpoint, opts);
    this.manifests = new Manifests(this.#session);
    this.uploads = new Uploads(this.#session);
    this.blobs = new Blobs(this.#session, this.uploads);
    this.tags = new Tags(this.#session);
    this.catalog = new Catalog(this.#session);
  }

  /** A client for the registry of a reference domain ('docker.io', 'localhost:5000'). */
  static forDomain(domain: string, opts: RemoteOptions = {}): RegistryClient {
    const ep = endpointFor(domain, opts.insecureRegistries ? { insecureRegistries: opts.insecureRegistries } : {});
    return new RegistryClient(ep, opts);
  }

  /** `GET /v2/` (done once, before the first request, in any case): the base URL and the auth challenge. */
  ping(): Promise<PingResult> {
    return this.#session.ping();
  }

  /** Check the configured credentials as `docker login` does (a scope-less token, or an authenticated GET /v2/). */
  checkLogin(): Promise<void> {
    return this.#session.checkLogin();
  }

  /** Ask for push access on `repo` from now on (tokens are scoped per repository and action). */
  allowPush(repo: string): void {
    this.#session.allowPush(repo);
  }

  /** `GET /v1/search` (Docker Hub's index and registries that offer it); UNSUPPORTED where there is none. */
  search(term: string, limit = 25): Promise<SearchResult[]> {
    return search(this.#session, term, limit);
  }

  /** Close kept-alive connections. */
  close(): void {
    this.#session.close();
  }
}
