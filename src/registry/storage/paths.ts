import { WharfError } from '../../errors/index.js';
import type { Digest } from '../../digest/index.js';

/** The whole storage layout in one place: one global blob store and upload sessions, nothing per repository. */
export function blobPath(d: Digest): string {
  const [alg, hex] = d.split(':') as [string, string];
  return `blobs/${alg}/${hex.slice(0, 2)}/${hex}`;
}

export function uploadPath(id: string): string {
  return `uploads/${id}`;
}

export const BLOBS_PREFIX = 'blobs';
export const UPLOADS_PREFIX = 'uploads';

/** The digest a blob path stands for, or undefined for anything else found under `blobs/`. */
export function digestOfBlobPath(p: string): string | undefined {
  const m = /^blobs\/([a-z0-9]+)\/[0-9a-f]{2}\/([0-9a-f]+)$/.exec(p);
  return m ? `${m[1]}:${m[2]}` : undefined;
}

/** What every driver accepts as a path: relative, slash-separated, no empty, `.` or `..` segment (nothing escapes the root). */
export function checkStoragePath(p: string): string {
  if (p === '' || p.startsWith('/') || p.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new WharfError('INVALID_ARGUMENT', `invalid storage path ${JSON.stringify(p)}`);
  }
  return p;
}
