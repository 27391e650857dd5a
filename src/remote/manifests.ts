import { WharfError } from '../errors/index.js';
import { algorithmOf, digestOf, isDigest, type Digest } from '../digest/index.js';
import { MAX_MANIFEST_BYTES, MediaType, baseMediaType } from '../oci/index.js';
import { repositoryScope } from './challenge.js';
import { notFoundAs } from './errors.js';
import type { RegistrySession } from './session.js';
import { discard, header, readBody, type HttpResponse } from './transport.js';

/** The accepted manifest kinds, most wanted first. */
export const MANIFEST_ACCEPT = [
  MediaType.OCIIndex,
  MediaType.DockerManifestList,
  MediaType.OCIManifest,
  MediaType.DockerManifest,
].join(', ');

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

/** `/v2/<repo>/manifests/<reference>`: get, head, put and delete manifests and indexes by tag or digest. */
export class Manifests {
  readonly #s: RegistrySession;

  constructor(session: RegistrySession) {
    this.#s = session;
  }

  /** GET a manifest or index by tag or digest; checks the bytes against the digest asked for and Docker-Content-Digest. */
  async get(repo: string, reference: string): Promise<RemoteManifest> {
    const name = this.#s.name(repo, reference);
    let res: HttpResponse;
    try {
      res = await this.#s.request({
        method: 'GET',
        path: `/v2/${repo}/manifests/${reference}`,
        headers: { Accept: MANIFEST_ACCEPT },
        scopes: this.#s.scopes(repo),
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
  async head(repo: string, reference: string): Promise<RemoteDescriptor | undefined> {
    const res = await this.#s.request({
      method: 'HEAD',
      path: `/v2/${repo}/manifests/${reference}`,
      headers: { Accept: MANIFEST_ACCEPT },
      scopes: this.#s.scopes(repo),
      ok: [200, 404],
      what: `manifest for ${this.#s.name(repo, reference)}`,
    });
    await discard(res);
    if (res.status === 404) return undefined;
    const dcd = header(res, 'docker-content-digest');
    const size = Number(header(res, 'content-length'));
    if (dcd && isDigest(dcd) && Number.isFinite(size)) {
      return { mediaType: baseMediaType(header(res, 'content-type') ?? ''), digest: dcd, size };
    }
    // Some registries leave the digest out of HEAD answers: fall back to fetching the manifest.
    const m = await this.get(repo, reference);
    return { mediaType: m.mediaType, digest: m.digest, size: m.raw.length };
  }

  /** PUT a manifest by tag or digest; returns its digest (checked against the registry's Docker-Content-Digest). */
  async put(repo: string, reference: string, raw: Buffer, mediaType: string): Promise<Digest> {
    if (raw.length > MAX_MANIFEST_BYTES)
      throw new WharfError(
        'TOO_LARGE',
        `manifest is ${raw.length} bytes, more than the ${MAX_MANIFEST_BYTES}-byte limit`,
      );
    const name = this.#s.name(repo, reference);
    const res = await this.#s.request({
      method: 'PUT',
      path: `/v2/${repo}/manifests/${reference}`,
      headers: { 'Content-Type': mediaType },
      body: raw,
      scopes: this.#s.scopes(repo),
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

  async delete(repo: string, digest: Digest): Promise<void> {
    const res = await this.#s.request({
      method: 'DELETE',
      path: `/v2/${repo}/manifests/${digest}`,
      scopes: [repositoryScope(repo, 'delete')],
      ok: [200, 202, 204],
      what: `deleting manifest ${this.#s.name(repo, digest)}`,
    });
    await discard(res);
  }
}

/** Checks a served manifest: it must hash to the digest asked for, and to the registry's Docker-Content-Digest. */
export function checkManifestDigest(
  raw: Buffer,
  reference: string,
  dockerContentDigest: string | undefined,
  name: string,
): Digest {
  const asked = isDigest(reference) ? reference : undefined;
  const digest = digestOf(raw, asked ? algorithmOf(asked) : 'sha256');
  if (asked && digest !== asked)
    throw new WharfError('DIGEST_MISMATCH', `manifest ${name}: content hashes to ${digest}, not the digest asked for`);
  if (dockerContentDigest && isDigest(dockerContentDigest)) {
    const own =
      algorithmOf(dockerContentDigest) === algorithmOf(digest)
        ? digest
        : digestOf(raw, algorithmOf(dockerContentDigest));
    if (own !== dockerContentDigest) {
      throw new WharfError(
        'DIGEST_MISMATCH',
        `manifest ${name}: registry says ${dockerContentDigest} but the content hashes to ${own}`,
      );
    }
  }
  return asked ?? digestOf(raw);
}
