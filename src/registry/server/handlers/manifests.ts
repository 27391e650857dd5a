import { WharfError } from '../../../errors/index.js';
import { digestOf, isDigest, algorithmOf, type Digest } from '../../../digest/index.js';
import { isValidTag } from '../../../reference/index.js';
import {
  parseManifest,
  MAX_MANIFEST_BYTES,
  isForeignLayerMediaType,
  isIndexMediaType,
  MediaType,
  type Descriptor,
} from '../../../oci/index.js';
import { readAllLimited } from '../../../util/index.js';
import type { ManifestPut, ManifestRecord } from '../../metadata/index.js';
import { apiError } from '../errors.js';
import {
  pageOf,
  repoOf,
  requireDeleteEnabled,
  requireWritable,
  send,
  sendJson,
  type RequestContext,
} from '../context.js';
import { digestParam } from './blobs.js';

type Ref = { tag: string } | { digest: Digest };

function refOf(c: RequestContext): Ref {
  const r = c.route.ref ?? '';
  if (r.includes(':')) {
    if (!isDigest(r)) throw apiError('DIGEST_INVALID', `invalid digest ${JSON.stringify(r.slice(0, 200))}`);
    return { digest: r };
  }
  if (!isValidTag(r)) {
    // No such tag can exist, so reads answer "unknown" (as the conformance suite expects); a PUT is malformed.
    if (c.req.method === 'PUT') throw apiError('MANIFEST_INVALID', `invalid tag ${JSON.stringify(r.slice(0, 200))}`);
    throw apiError('MANIFEST_UNKNOWN', `manifest ${JSON.stringify(r.slice(0, 200))} is not known: not a valid tag`);
  }
  return { tag: r };
}

async function unknown(c: RequestContext, repo: string, what: string): Promise<never> {
  if (!(await c.deps.index.repositories.exists(repo)))
    throw apiError('NAME_UNKNOWN', `repository ${repo} is not known`);
  throw apiError('MANIFEST_UNKNOWN', `manifest ${what} is not in ${repo}`);
}

/** Whether an Accept header admits the stored media type. No header, or a wildcard, admits everything. */
function accepts(accept: string | undefined, mediaType: string): boolean {
  if (!accept) return true;
  const types = accept.split(',').map((t) => t.split(';')[0]!.trim().toLowerCase());
  return types.some((t) => t === '*/*' || t === mediaType || t === 'application/*' || t === '');
}

export async function getManifest(c: RequestContext): Promise<void> {
  c.subject = 'manifest';
  const repo = repoOf(c);
  const ref = refOf(c);
  const { index } = c.deps;
  const digest = 'digest' in ref ? ref.digest : await index.tags.resolve(repo, ref.tag);
  const m = digest && (await index.manifests.get(repo, digest));
  if (!m) return unknown(c, repo, 'digest' in ref ? ref.digest : ref.tag);
  const accept = [c.req.headers.accept].flat().filter(Boolean).join(',');
  // Like distribution: a client that cannot read an index (old docker) is told it is absent rather than handed one.
  if ('tag' in ref && isIndexMediaType(m.mediaType) && accept !== '' && !accepts(accept, m.mediaType)) {
    throw apiError('MANIFEST_UNKNOWN', `${repo}:${ref.tag} is a ${m.mediaType}, which the client does not accept`);
  }
  send(
    c.res,
    200,
    { 'Content-Type': m.mediaType, 'Content-Length': m.size, 'Docker-Content-Digest': m.digest, ETag: `"${m.digest}"` },
    c.req.method === 'HEAD' ? undefined : m.content,
  );
}

function distributable(d: Descriptor): boolean {
  return !(isForeignLayerMediaType(d.mediaType) || (d.urls !== undefined && d.urls.length > 0));
}

/** The descriptors of a pushed manifest whose targets the registry must hold: config and layers, or index children. */
export interface ManifestTargets {
  blobs: Descriptor[];
  children: Descriptor[];
}

/** Validates a pushed manifest and turns it into what the index stores. */
export function manifestPutOf(raw: Buffer, contentType: string | undefined, digest: Digest): ManifestPut {
  return parsePushedManifest(raw, contentType, digest).put;
}

function parsePushedManifest(
  raw: Buffer,
  contentType: string | undefined,
  digest: Digest,
): { put: ManifestPut; targets: ManifestTargets } {
  const p = parseManifest(raw, contentType);
  const subject = p.kind === 'manifest' ? p.manifest.subject : p.index.subject;
  const annotations = p.kind === 'manifest' ? p.manifest.annotations : p.index.annotations;
  const artifactType =
    p.kind === 'manifest' ? (p.manifest.artifactType ?? p.manifest.config.mediaType) : p.index.artifactType;
  const targets: ManifestTargets = {
    blobs: p.kind === 'manifest' ? [p.manifest.config, ...p.manifest.layers].filter(distributable) : [],
    children: p.kind === 'index' ? p.index.manifests : [],
  };
  const put: ManifestPut = {
    digest,
    mediaType: p.mediaType,
    content: raw,
    ...(artifactType !== undefined ? { artifactType } : {}),
    ...(subject ? { subject: subject.digest } : {}),
    ...(annotations ? { annotations } : {}),
    blobs: targets.blobs.map((d) => d.digest),
    children: targets.children.map((d) => d.digest),
  };
  return { put, targets };
}

/**
 * A descriptor whose size differs from what the repository holds under its digest is refused with 400
 * MANIFEST_INVALID: a client would read `size` bytes and fail on every pull. Distribution (2.8) does not check this
 * and answers 201; OpenShift's registry refuses it, as we do. Targets the repository lacks are left to the index's
 * put (MANIFEST_BLOB_UNKNOWN). A digest names one content, so a size read before the put's transaction stays true.
 */
async function checkTargetSizes(c: RequestContext, repo: string, t: ManifestTargets): Promise<void> {
  const { index } = c.deps;
  const wrong: Array<{ digest: Digest; size: number; stored: number }> = [];
  for (const d of t.blobs) {
    const stored =
      (await index.blobs.linked(repo, d.digest))?.size ?? (await index.manifests.get(repo, d.digest))?.size;
    if (stored !== undefined && stored !== d.size) wrong.push({ digest: d.digest, size: d.size, stored });
  }
  for (const d of t.children) {
    const stored = (await index.manifests.get(repo, d.digest))?.size;
    if (stored !== undefined && stored !== d.size) wrong.push({ digest: d.digest, size: d.size, stored });
  }
  const first = wrong[0];
  if (first) {
    throw new WharfError(
      'INVALID_ARGUMENT',
      `manifest descriptor of ${first.digest} says ${first.size} bytes, the repository holds ${first.stored}` +
        (wrong.length > 1 ? ` (and ${wrong.length - 1} more descriptor(s) with a wrong size)` : ''),
      { details: { oci: 'MANIFEST_INVALID', detail: { sizeMismatch: wrong } } },
    );
  }
}

export async function putManifest(c: RequestContext): Promise<void> {
  c.subject = 'manifest';
  const repo = repoOf(c);
  const ref = refOf(c);
  requireWritable(c);
  const declared = Number(c.req.headers['content-length'] ?? 0);
  if (declared > MAX_MANIFEST_BYTES) {
    c.req.resume();
    throw new WharfError('TOO_LARGE', `manifest is ${declared} bytes, more than the ${MAX_MANIFEST_BYTES}-byte limit`);
  }
  const raw = await readAllLimited(c.req, MAX_MANIFEST_BYTES, 'manifest');
  const digest = 'digest' in ref ? (digestOf(raw, algorithmOf(ref.digest)) as Digest) : digestOf(raw);
  if ('digest' in ref && digest !== ref.digest) {
    throw apiError('DIGEST_INVALID', `manifest content has digest ${digest}, not ${ref.digest}`);
  }
  const { put, targets } = parsePushedManifest(raw, c.req.headers['content-type'], digest);
  if ('tag' in ref) put.tag = ref.tag;
  await checkTargetSizes(c, repo, targets);
  await c.deps.index.manifests.put(repo, put);
  send(c.res, 201, {
    Location: `/v2/${repo}/manifests/${digest}`,
    'Docker-Content-Digest': digest,
    ...(put.subject ? { 'OCI-Subject': put.subject } : {}),
  });
}

export async function deleteManifest(c: RequestContext): Promise<void> {
  c.subject = 'manifest';
  const repo = repoOf(c);
  const ref = refOf(c);
  requireDeleteEnabled(c);
  const { index } = c.deps;
  // On a full disk too (RegistryStore.freeing): deleting is how space is won back.
  const gone = await c.deps.store.freeing(() =>
    'tag' in ref ? index.tags.delete(repo, ref.tag) : index.manifests.delete(repo, ref.digest),
  );
  if (!gone) return unknown(c, repo, 'digest' in ref ? ref.digest : ref.tag);
  send(c.res, 202, {});
}

const MAX_PAGE = 10_000;

function nextLink(path: string, n: number, last: string): string {
  return `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`;
}

export async function listTags(c: RequestContext): Promise<void> {
  c.subject = 'tags';
  const repo = repoOf(c);
  const page = pageOf(c.url, MAX_PAGE);
  const { index } = c.deps;
  if (!(await index.repositories.exists(repo))) throw apiError('NAME_UNKNOWN', `repository ${repo} is not known`);
  const tags =
    page.n === 0
      ? []
      : await index.tags.list(repo, { n: page.n + 1, ...(page.last !== undefined ? { last: page.last } : {}) });
  const more = tags.length > page.n;
  const shown = tags.slice(0, page.n);
  sendJson(
    c.res,
    200,
    { name: repo, tags: shown },
    more ? { Link: nextLink(`/v2/${repo}/tags/list`, page.n, shown[shown.length - 1]!) } : {},
  );
}

export function referrerDescriptor(m: ManifestRecord): Descriptor {
  return {
    mediaType: m.mediaType,
    digest: m.digest,
    size: m.size,
    ...(m.artifactType !== undefined ? { artifactType: m.artifactType } : {}),
    ...(m.annotations !== undefined ? { annotations: m.annotations } : {}),
  };
}

export async function listReferrers(c: RequestContext): Promise<void> {
  c.subject = 'manifest';
  const repo = repoOf(c);
  const subject = digestParam(c.route.ref);
  const artifactType = c.url.searchParams.get('artifactType') ?? undefined;
  const refs = await c.deps.index.manifests.referrers(repo, subject, artifactType);
  const body = { schemaVersion: 2, mediaType: MediaType.OCIIndex, manifests: refs.map(referrerDescriptor) };
  send(
    c.res,
    200,
    {
      'Content-Type': MediaType.OCIIndex,
      ...(artifactType !== undefined ? { 'OCI-Filters-Applied': 'artifactType' } : {}),
    },
    JSON.stringify(body),
  );
}
