import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { resolveInRoot } from '../archive/index.js';
import { isErrno } from '../errors/index.js';

/**
 * Docker's init layer (moby daemon/initlayer): mount points the runtime needs that the image may lack. They live in
 * a layer of their own between the image and the container's writable layer, so `diff` and `commit` never see them.
 */
const INIT_ENTRIES: ReadonlyArray<[string, 'dir' | 'file' | 'link', string?]> = [
  ['/dev/pts', 'dir'],
  ['/dev/shm', 'dir'],
  ['/proc', 'dir'],
  ['/sys', 'dir'],
  ['/etc/resolv.conf', 'file'],
  ['/etc/hosts', 'file'],
  ['/etc/hostname', 'file'],
  ['/dev/console', 'file'],
  ['/etc/mtab', 'link', '/proc/mounts'],
];

/** Create the missing init entries in a mounted rootfs (existing ones, even symlinks, stay as the image has them). */
export async function populateInitLayer(rootfs: string, extraFiles: readonly string[] = []): Promise<void> {
  const entries = [...INIT_ENTRIES, ...extraFiles.map((f) => [f, 'file'] as [string, 'file'])];
  for (const [p, kind, target] of entries) {
    const at = await resolveInRoot(rootfs, p);
    try {
      await fsp.lstat(at);
      continue;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) continue;
    }
    try {
      await fsp.mkdir(path.dirname(at), { recursive: true, mode: 0o755 });
      if (kind === 'dir') await fsp.mkdir(at, { mode: 0o755 });
      else if (kind === 'file') await (await fsp.open(at, 'wx', 0o755)).close();
      else await fsp.symlink(target!, at);
    } catch (err) {
      // A parent that is a file in the image: the runtime will complain with a clearer message.
      if (!isErrno(err, 'ENOTDIR') && !isErrno(err, 'EEXIST')) throw err;
    }
  }
}
