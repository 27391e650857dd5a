import { promises as fsp } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { WharfError, isErrno } from '../../../errors/index.js';
import { canSendFile, sendFileToSocket, type SendFileError } from '../../../util/index.js';
import { isDigest, type Digest } from '../../../digest/index.js';
import { apiError } from '../errors.js';
import { repoOf, requireDeleteEnabled, send, type RequestContext } from '../context.js';

export function digestParam(s: string | null | undefined, what = 'digest'): Digest {
  if (s === null || s === undefined || s === '') throw apiError('DIGEST_INVALID', `${what} is missing`);
  if (!isDigest(s)) throw apiError('DIGEST_INVALID', `invalid ${what} ${JSON.stringify(s.slice(0, 200))}`);
  return s;
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` → [start, end] inclusive; undefined when absent; 'bad' when unsatisfiable. */
export function parseRange(h: string | undefined, size: number): [number, number] | undefined | 'bad' {
  if (h === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'bad';
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'bad';
    return [Math.max(0, size - n), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'bad';
  return [start, end];
}

export async function getBlob(c: RequestContext): Promise<void> {
  c.subject = 'blob';
  const repo = repoOf(c);
  const d = digestParam(c.route.ref);
  const head = c.req.method === 'HEAD';
  const blob = await c.deps.store.blobInRepo(repo, d);
  const common = {
    'Docker-Content-Digest': d,
    ETag: `"${d}"`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'max-age=31536000',
  };
  if (!blob) {
    // Clients sometimes fetch a manifest through the blob endpoint; its bytes live in the index.
    const m = await c.deps.index.manifests.get(repo, d);
    if (!m) throw apiError('BLOB_UNKNOWN', `blob ${d} is not in ${repo}`);
    send(
      c.res,
      200,
      { ...common, 'Content-Type': m.mediaType, 'Content-Length': m.size },
      head ? undefined : m.content,
    );
    return;
  }
  const range = parseRange(head ? undefined : (c.req.headers.range as string | undefined), blob.size);
  if (range === 'bad') {
    send(c.res, 416, { 'Content-Range': `bytes */${blob.size}` });
    return;
  }
  if (head) {
    c.res.writeHead(200, {
      ...common,
      'Content-Type': 'application/octet-stream',
      'Content-Length': blob.size,
      'Docker-Distribution-API-Version': 'registry/2.0',
    });
    c.res.end();
    return;
  }
  // An object store's presigned URL: the client fetches the bytes from the store itself (Range included).
  const redirect = blob.size > 0 ? await c.deps.store.blobRedirectURL(d) : undefined;
  if (redirect !== undefined) {
    // No Cache-Control: the URL expires (20 min), unlike the blob.
    send(c.res, 307, { 'Docker-Content-Digest': d, Location: redirect, 'Content-Length': 0 });
    return;
  }
  const [start, end] = range ?? [0, blob.size - 1];
  const length = blob.size === 0 ? 0 : end - start + 1;
  const status = range ? 206 : 200;
  const headers = {
    ...common,
    'Content-Type': 'application/octet-stream',
    'Content-Length': length,
    ...(range ? { 'Content-Range': `bytes ${start}-${end}/${blob.size}` } : {}),
    'Docker-Distribution-API-Version': 'registry/2.0',
  };
  const file = c.deps.config.sendfile && length > 0 ? c.deps.store.blobFile(d) : undefined;
  // sendfile needs the connection to itself: a plain socket (not TLS) that this response already owns (a pipelined
  // request's response waits in http's queue, and its socket is not ours to write yet).
  if (file !== undefined && c.res.socket === c.req.socket && canSendFile(c.req.socket)) {
    await sendBlobFile(c, file, start, length, status, headers);
    return;
  }
  const stream = await c.deps.store.readBlob(d, start, length);
  c.res.writeHead(status, headers);
  await pipeline(stream, c.res).catch(() => {
    c.res.destroy();
  });
}

/**
 * The body straight from the blob's file to the socket with sendfile(2): headers through http as usual, then the
 * kernel copies the bytes, then `res.end()` (Content-Length is set, so http adds nothing). Like the stream path, a
 * failure after the headers destroys the connection: the client sees a short body, never a wrong one.
 */
async function sendBlobFile(
  c: RequestContext,
  file: string,
  start: number,
  length: number,
  status: number,
  headers: Record<string, string | number>,
): Promise<void> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new WharfError('NOT_FOUND', `blob file of ${String(c.route.ref)} does not exist`);
    throw err;
  }
  try {
    c.res.writeHead(status, headers);
    c.res.flushHeaders();
    try {
      c.bytesSentDirect += await sendFileToSocket(c.req.socket, fh.fd, start, length, {
        idleMs: c.deps.config.idleTimeoutMs,
      });
    } catch (err) {
      c.bytesSentDirect += (err as SendFileError).bytesSent ?? 0;
      c.res.destroy();
      return;
    }
    c.res.end();
  } finally {
    await fh.close();
  }
}

export async function deleteBlob(c: RequestContext): Promise<void> {
  c.subject = 'blob';
  const repo = repoOf(c);
  const d = digestParam(c.route.ref);
  requireDeleteEnabled(c);
  if (!(await c.deps.store.freeing(() => c.deps.index.blobs.unlink(repo, d))))
    throw apiError('BLOB_UNKNOWN', `blob ${d} is not in ${repo}`);
  send(c.res, 202, { 'Docker-Content-Digest': d });
}
