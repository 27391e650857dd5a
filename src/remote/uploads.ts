import type { Readable } from 'node:stream';
import { WharfError } from '../errors/index.js';
import { isDigest, type Digest } from '../digest/index.js';
import { repositoryScope } from './challenge.js';
import type { RegistrySession } from './session.js';
import { discard, header, type HttpResponse } from './transport.js';

/** An upload in progress: where the next PATCH or the final PUT goes. */
export interface UploadSession {
  repo: string;
  location: URL;
}

/** `/v2/<repo>/blobs/uploads/`: start (or mount), stream chunks into, finish and cancel blob uploads. */
export class Uploads {
  readonly #s: RegistrySession;

  constructor(session: RegistrySession) {
    this.#s = session;
  }

  /**
   * Start an upload (POST). With `mount`, ask the registry to link the blob from another repository instead:
   * `{ mounted: true }` when it did, else an upload session to send the bytes to.
   */
  async start(
    repo: string,
    mount?: { digest: Digest; from: string },
  ): Promise<{ mounted: true } | { mounted: false; session: UploadSession }> {
    const extra = mount ? [repositoryScope(mount.from, 'pull')] : [];
    const res = await this.#s.request({
      method: 'POST',
      path: `/v2/${repo}/blobs/uploads/`,
      query: mount ? { mount: mount.digest, from: mount.from } : {},
      scopes: this.#s.scopes(repo, extra),
      ok: [201, 202],
      what: `starting an upload to ${this.#s.name(repo)}`,
    });
    await discard(res);
    if (res.status === 201 && mount) return { mounted: true };
    return { mounted: false, session: { repo, location: this.#location(res, repo) } };
  }

  /** Stream bytes into an upload (one PATCH, chunked transfer encoding); returns the session to continue with. */
  async patch(session: UploadSession, src: Readable): Promise<UploadSession> {
    const res = await this.#s.request({
      method: 'PATCH',
      path: session.location,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: src,
      scopes: this.#s.scopes(session.repo),
      ok: [202, 204],
      what: `uploading to ${this.#s.name(session.repo)}`,
    });
    await discard(res);
    return {
      repo: session.repo,
      location: header(res, 'location') ? this.#location(res, session.repo) : session.location,
    };
  }

  /** Finish an upload with `PUT ?digest=` (optionally carrying the last or only bytes); the registry verifies the digest. */
  async complete(session: UploadSession, digest: Digest, body?: Buffer): Promise<void> {
    const url = new URL(session.location.href);
    url.searchParams.set('digest', digest);
    const res = await this.#s.request({
      method: 'PUT',
      path: url,
      headers: { 'Content-Type': 'application/octet-stream' },
      ...(body ? { body } : {}),
      scopes: this.#s.scopes(session.repo),
      ok: [201, 204],
      what: `finishing the upload of ${digest} to ${this.#s.name(session.repo)}`,
    });
    await discard(res);
    const dcd = header(res, 'docker-content-digest');
    if (dcd && isDigest(dcd) && dcd !== digest) {
      throw new WharfError(
        'DIGEST_MISMATCH',
        `registry stored the upload to ${this.#s.name(session.repo)} as ${dcd}, not ${digest}`,
      );
    }
  }

  /** Abandon an upload; failures are ignored (the registry purges abandoned uploads itself). */
  async cancel(session: UploadSession): Promise<void> {
    try {
      const res = await this.#s.request({
        method: 'DELETE',
        path: session.location,
        scopes: this.#s.scopes(session.repo),
        ok: [200, 202, 204, 404],
        what: 'cancelling an upload',
      });
      await discard(res);
    } catch {
      // the registry purges abandoned uploads itself
    }
  }

  #location(res: HttpResponse, repo: string): URL {
    const loc = header(res, 'location');
    if (!loc)
      throw new WharfError(
        'UNAVAILABLE',
        `registry ${this.#s.endpoint.domain} started an upload to ${repo} without a Location`,
      );
    return new URL(loc, res.url);
  }
}
