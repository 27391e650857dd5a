import type { Readable } from 'node:stream';
import { WharfError, is } from '../errors/index.js';
import { algorithmOf, digestOf, type Digest } from '../digest/index.js';
import { notFoundAs } from './errors.js';
import { resumableRead, type ResumableReadOptions } from './resumable.js';
import { backoff, sleep } from './retry.js';
import type { RegistrySession } from './session.js';
import { discard, header, readBody, type HttpResponse } from './transport.js';
import type { Uploads } from './uploads.js';

/** How `blobs.open` reads: from where, the size when known, and how often a dropped connection is resumed. */
export type OpenBlobOptions = ResumableReadOptions;

/** `/v2/<repo>/blobs/<digest>`: HEAD, whole small reads, resumable streamed reads, and small in-memory pushes. */
export class Blobs {
  readonly #s: RegistrySession;
  readonly #uploads: Uploads;

  constructor(session: RegistrySession, uploads: Uploads) {
    this.#s = session;
    this.#uploads = uploads;
  }

  /** HEAD a blob: its size (-1 when not said), or undefined when the repository does not have it. */
  async head(repo: string, digest: Digest): Promise<number | undefined> {
    const res = await this.#s.request({
      method: 'HEAD',
      path: `/v2/${repo}/blobs/${digest}`,
      scopes: this.#s.scopes(repo),
      ok: [200, 404],
      what: this.#what(repo, digest),
      followRedirects: true,
    });
    await discard(res);
    if (res.status === 404) return undefined;
    const size = Number(header(res, 'content-length'));
    return Number.isFinite(size) ? size : -1;
  }

  /** A small blob (a config) whole, verified against its digest. */
  async fetch(repo: string, digest: Digest, maxBytes: number): Promise<Buffer> {
    const what = this.#what(repo, digest);
    const data = await readBody(await this.#get(repo, digest, 0, [200]), maxBytes, what);
    const got = digestOf(data, algorithmOf(digest));
    if (got !== digest) throw new WharfError('DIGEST_MISMATCH', `${what}: content hashes to ${got}`);
    return data;
  }

  /**
   * A blob's bytes from `start`, as a stream that survives dropped connections (resumable.ts: Range resume).
   * The caller verifies the digest.
   */
  open(repo: string, digest: Digest, opts: OpenBlobOptions = {}): Readable {
    return resumableRead(
      {
        what: this.#what(repo, digest),
        host: this.#s.endpoint.domain,
        open: (offset) => this.#get(repo, digest, offset, [200, 206]),
        retry: this.#s.retry,
      },
      opts,
    );
  }

  /** Upload a small blob held in memory (a config): POST then one PUT, the whole exchange retried on failure. */
  async push(repo: string, data: Buffer, digest: Digest): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const started = await this.#uploads.start(repo);
        if (started.mounted) return;
        await this.#uploads.complete(started.session, digest, data);
        return;
      } catch (err) {
        if (!is(err, 'UNAVAILABLE') && !is(err, 'NOT_FOUND')) throw err;
        if (attempt >= this.#s.retry.retries) throw err;
        await sleep(backoff(this.#s.retry, attempt), this.#s.retry.signal);
      }
    }
  }

  /** GET the blob (redirects followed), from `offset` with Range when above 0; a 404 is NOT_FOUND naming the blob. */
  async #get(repo: string, digest: Digest, offset: number, ok: readonly number[]): Promise<HttpResponse> {
    const what = this.#what(repo, digest);
    try {
      return await this.#s.request({
        method: 'GET',
        path: `/v2/${repo}/blobs/${digest}`,
        ...(offset > 0 ? { headers: { Range: `bytes=${offset}-` } } : {}),
        scopes: this.#s.scopes(repo),
        ok,
        what,
        followRedirects: true,
      });
    } catch (err) {
      throw notFoundAs(err, `${what} not found`);
    }
  }

  #what(repo: string, digest: Digest): string {
    return `blob ${digest} in ${this.#s.name(repo)}`;
  }
}
