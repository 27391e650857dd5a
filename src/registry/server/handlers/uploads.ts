import { isValidRepositoryPath } from '../../../reference/index.js';
import type { Digest } from '../../../digest/index.js';
import { apiError } from '../errors.js';
import { repoOf, requireWritable, send, type RequestContext } from '../context.js';
import { digestParam } from './blobs.js';

const uploadUrl = (repo: string, id: string) => `/v2/${repo}/blobs/uploads/${id}`;
// The spec's Range is inclusive; an empty session answers 0-0 as distribution does (clients treat it as "nothing").
const rangeHeader = (size: number) => `0-${Math.max(0, size - 1)}`;

function uploadHeaders(repo: string, id: string, size: number): Record<string, string | number> {
  return { Location: uploadUrl(repo, id), Range: rangeHeader(size), 'Docker-Upload-UUID': id };
}

async function created(c: RequestContext, repo: string, d: string): Promise<void> {
  send(c.res, 201, { Location: `/v2/${repo}/blobs/${d}`, 'Docker-Content-Digest': d });
}

/** Whether the principal may read the blob somewhere, so that mounting it leaks nothing. */
async function mayMount(c: RequestContext, d: Digest, from: string | null): Promise<boolean> {
  const { index, policy } = c.deps;
  if (
    from &&
    isValidRepositoryPath(from) &&
    policy.allowed(c.principal, from, 'pull') &&
    (await index.blobs.linked(from, d))
  )
    return true;
  if (!policy.authEnabled) return (await index.blobs.stat(d)) !== undefined;
  for (const r of await index.blobs.reposLinking(d, 50)) if (policy.allowed(c.principal, r, 'pull')) return true;
  return false;
}

export async function startUpload(c: RequestContext): Promise<void> {
  c.subject = 'upload';
  const repo = repoOf(c);
  requireWritable(c);
  const { store } = c.deps;
  const mount = c.url.searchParams.get('mount');
  if (mount !== null) {
    const d = digestParam(mount, 'mount digest');
    if ((await mayMount(c, d, c.url.searchParams.get('from'))) && (await store.mount(repo, d))) {
      c.req.resume();
      return created(c, repo, d);
    }
  }
  const digest = c.url.searchParams.get('digest');
  if (digest !== null) {
    const d = digestParam(digest);
    const u = await store.startUpload(repo);
    await store.finishUpload(repo, u.id, d, c.req);
    return created(c, repo, d);
  }
  c.req.resume();
  const u = await store.startUpload(repo);
  send(c.res, 202, uploadHeaders(repo, u.id, 0));
}

function uploadId(c: RequestContext): string {
  const id = c.route.ref ?? '';
  if (!/^[A-Za-z0-9_.=-]{1,128}$/.test(id))
    throw apiError('BLOB_UPLOAD_UNKNOWN', `upload ${JSON.stringify(id.slice(0, 100))} is not known`);
  return id;
}

export async function uploadStatus(c: RequestContext): Promise<void> {
  c.subject = 'upload';
  const repo = repoOf(c);
  const id = uploadId(c);
  const { size } = await c.deps.store.uploadStatus(repo, id);
  send(c.res, 204, uploadHeaders(repo, id, size));
}

/** `Content-Range: <start>-<end>` (the spec's form; `bytes ` and `/total` are tolerated). */
function parseContentRange(h: string | undefined): { start: number; length: number } | undefined {
  if (h === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(h.trim());
  if (!m) throw apiError('BLOB_UPLOAD_INVALID', `invalid Content-Range ${JSON.stringify(h.slice(0, 100))}`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) throw apiError('BLOB_UPLOAD_INVALID', `invalid Content-Range ${JSON.stringify(h)}`);
  return { start, length: end - start + 1 };
}

export async function patchUpload(c: RequestContext): Promise<void> {
  c.subject = 'upload';
  const repo = repoOf(c);
  const id = uploadId(c);
  requireWritable(c);
  const range = parseContentRange(c.req.headers['content-range']);
  const cl = c.req.headers['content-length'];
  if (range && cl !== undefined && Number(cl) !== range.length) {
    c.req.resume();
    throw apiError(
      'BLOB_UPLOAD_INVALID',
      `Content-Length ${cl} does not match Content-Range ${c.req.headers['content-range']}`,
    );
  }
  try {
    const { size } = await c.deps.store.appendUpload(repo, id, c.req, range?.start, range?.length);
    send(c.res, 202, uploadHeaders(repo, id, size));
  } catch (err) {
    const size = (err as { details?: { size?: number } }).details?.size;
    if (size !== undefined) {
      // Out of order: 416, with where the session really is so the client can resume.
      send(
        c.res,
        416,
        { ...uploadHeaders(repo, id, size), 'Content-Type': 'application/json' },
        JSON.stringify({ errors: [{ code: 'BLOB_UPLOAD_INVALID', message: (err as Error).message }] }),
      );
      return;
    }
    throw err;
  }
}

export async function putUpload(c: RequestContext): Promise<void> {
  c.subject = 'upload';
  const repo = repoOf(c);
  const id = uploadId(c);
  requireWritable(c);
  const d = digestParam(c.url.searchParams.get('digest'));
  const range = parseContentRange(c.req.headers['content-range']);
  if (range) {
    const { size } = await c.deps.store.uploadStatus(repo, id);
    if (range.start !== size) {
      c.req.resume();
      send(c.res, 416, uploadHeaders(repo, id, size));
      return;
    }
  }
  await c.deps.store.finishUpload(repo, id, d, c.req);
  await created(c, repo, d);
}

export async function cancelUpload(c: RequestContext): Promise<void> {
  c.subject = 'upload';
  const repo = repoOf(c);
  const id = uploadId(c);
  await c.deps.store.cancelUpload(repo, id);
  send(c.res, 204, {});
}
