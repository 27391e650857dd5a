import { lstatSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';
import { WharfError, isErrno } from '../errors/index.js';

/**
 * Normalize a tar entry name to a path relative to the target root ('' for the root itself). Leading slashes and `./`
 * are dropped, as Docker and containerd do for layers; a name that climbs above the root is refused.
 */
export function normalizeEntryName(name: string): string {
  if (name.includes('\0'))
    throw new WharfError('INVALID_ARGUMENT', `tar entry ${JSON.stringify(name)} contains a NUL byte`);
  const stripped = name.replace(/^\/+/, '');
  const n = path.posix.normalize(stripped === '' ? '.' : stripped).replace(/\/+$/, '');
  if (n === '..' || n.startsWith('../')) {
    throw new WharfError('INVALID_ARGUMENT', `tar entry ${JSON.stringify(name)} escapes the target`);
  }
  return n === '.' ? '' : n;
}

/** `name` joined under `root`, normalized; throws INVALID_ARGUMENT when it would escape. Does not look at the disk. */
export function safeJoin(root: string, name: string): string {
  const rel = normalizeEntryName(name);
  return rel === '' ? path.resolve(root) : path.join(path.resolve(root), rel);
}

const MAX_SYMLINKS = 255;

/**
 * Resolve `rel` under `root` as if `root` were `/` (chroot style, like containerd's fs.RootPath): symlinks met on
 * the way are followed but can never lead outside `root`, absolute link targets restart at `root`, and `..` stops
 * at `root`. Components that do not exist are kept as they are. The result is an absolute path inside `root`
 * whose existing components are real directories, so writing below it never goes through a symlink.
 */
export function resolveInRootSync(root: string, rel: string): string {
  const pending = rel.split('/').filter((c) => c !== '' && c !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const c = pending.shift()!;
    if (c === '..') {
      resolved.pop();
      continue;
    }
    const candidate = path.join(root, ...resolved, c);
    let isLink = false;
    try {
      isLink = lstatSync(candidate).isSymbolicLink();
    } catch (err) {
      if (!isErrno(err, 'ENOENT') && !isErrno(err, 'ENOTDIR')) throw err;
    }
    if (!isLink) {
      resolved.push(c);
      continue;
    }
    if (++links > MAX_SYMLINKS) {
      throw new WharfError('INVALID_ARGUMENT', `too many levels of symbolic links resolving ${JSON.stringify(rel)}`);
    }
    const target = readlinkSync(candidate);
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...target.split('/').filter((x) => x !== '' && x !== '.'));
  }
  return path.join(root, ...resolved);
}

/**
 * resolveInRoot's work is a few lstat calls, each microseconds: done synchronously, which costs less than a trip
 * through the thread pool for each (0.5-1 ms here); the promise form is for callers in async code.
 */
export async function resolveInRoot(root: string, rel: string): Promise<string> {
  return resolveInRootSync(root, rel);
}
