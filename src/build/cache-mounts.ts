import { createHash } from '../digest/index.js';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isErrno } from '../errors/index.js';
import type { RunMount } from '../dockerfile/index.js';
import { ifExists } from '../util/index.js';

/**
 * `RUN --mount=type=cache` directories: one per cache id under `<root>/build-cache/mounts`, kept across builds and
 * never part of a layer. Created on first use with the mount's mode and owner.
 */
function cacheMountsRoot(root: string): string {
  return path.join(root, 'build-cache', 'mounts');
}

export async function cacheMountDir(
  root: string,
  id: string,
  m: Pick<RunMount, 'mode' | 'uid' | 'gid'>,
): Promise<string> {
  const dir = path.join(cacheMountsRoot(root), createHash('sha256').update(id).digest('hex').slice(0, 32));
  try {
    await fsp.mkdir(dir, { recursive: false, mode: m.mode ?? 0o755 });
    await fsp.chmod(dir, m.mode ?? 0o755);
    await fsp.chown(dir, m.uid ?? 0, m.gid ?? 0);
    await fsp.writeFile(`${dir}.id`, id);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) {
      await fsp.mkdir(cacheMountsRoot(root), { recursive: true, mode: 0o700 });
      return cacheMountDir(root, id, m);
    }
    if (!isErrno(err, 'EEXIST')) throw err;
  }
  return dir;
}

/** Bytes used by the cache mounts (regular files, each inode once). */
export async function cacheMountsUsage(root: string): Promise<{ count: number; size: number }> {
  const base = cacheMountsRoot(root);
  const names = await ifExists(fsp.readdir(base));
  if (!names) return { count: 0, size: 0 };
  const seen = new Set<string>();
  let size = 0;
  const dirs = names.filter((n) => !n.endsWith('.id'));
  const walk = async (d: string): Promise<void> => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = await fsp.lstat(p);
      if (st.isDirectory()) await walk(p);
      else if (!seen.has(`${st.dev}:${st.ino}`)) {
        seen.add(`${st.dev}:${st.ino}`);
        size += st.size;
      }
    }
  };
  for (const d of dirs) await walk(path.join(base, d));
  return { count: dirs.length, size };
}

export async function removeCacheMounts(root: string): Promise<void> {
  await fsp.rm(cacheMountsRoot(root), { recursive: true, force: true });
}
