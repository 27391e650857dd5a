import { closeSync, lchownSync, mkdirSync, openSync, promises as fsp, rmSync } from 'node:fs';
import * as path from 'node:path';
import { WharfError } from '../errors/index.js';
import { idMapText, idToHost, type IdMap } from '../util/index.js';
import { mountAll, nativeMount } from './mount.js';
import type { Mount } from './types.js';

/**
 * A remapped container's root file system without copying its layers: each overlay lower dir is first bind-mounted
 * idmapped (mount_setattr(MOUNT_ATTR_IDMAP), native/mount.c) so that an image file owned by uid N shows as the
 * container's host uid base+N, and overlayfs is mounted on those (Linux 5.19+ takes idmapped layers). The upper dir
 * stays plain: what the container writes is owned on the host by its mapped ids, as with Docker's userns-remap.
 * overlayfs holds private clones of its layers, so the idmapped binds are detached again at once and nothing but the
 * overlay is left to unmount.
 */
export async function mountIdmapped(
  mounts: readonly Mount[],
  target: string,
  map: IdMap,
  scratch: string,
): Promise<void> {
  const addon = nativeMount();
  if (!addon?.idmapBind) throw new WharfError('UNSUPPORTED', 'idmapped mounts need the native mount addon');
  const out: Mount[] = [];
  const made: string[] = [];
  try {
    for (const m of mounts) {
      if (m.type !== 'overlay') throw new WharfError('UNSUPPORTED', `idmapped ${m.type} mounts are not supported`);
      const options: string[] = [];
      for (const o of m.options) {
        if (o.startsWith('lowerdir=')) {
          const lowers = o.slice('lowerdir='.length).split(':');
          const targets = lowers.map((_, i) => path.join(scratch, String(made.length + i)));
          for (const t of targets) mkdirSync(t, { recursive: true, mode: 0o700 });
          made.push(...targets);
          try {
            addon.idmapBind(lowers, targets, idMapText(map.uid), idMapText(map.gid));
          } catch (err) {
            throw new WharfError('UNSUPPORTED', `idmapped mounts are not available here: ${(err as Error).message}`);
          }
          options.push(`lowerdir=${targets.join(':')}`);
        } else {
          // The upper dir's root is the container's `/`: owned by its root, not the host's.
          if (o.startsWith('upperdir='))
            lchownSync(o.slice('upperdir='.length), idToHost(map.uid, 0), idToHost(map.gid, 0));
          options.push(o);
        }
      }
      out.push({ ...m, options });
    }
    await mountAll(out, target);
  } finally {
    detachAll(made);
  }
}

/**
 * One directory or file bind-mounted idmapped on `target` (made here, of the same kind): a build step's `--mount`
 * sources, seen by the step with their own owners. The caller detaches it (umount MNT_DETACH) when the step is done.
 */
export function idmapBindOne(source: string, target: string, map: IdMap, isDir: boolean): void {
  const addon = nativeMount();
  if (!addon?.idmapBind) throw new WharfError('UNSUPPORTED', 'idmapped mounts need the native mount addon');
  mkdirSync(path.dirname(target), { recursive: true, mode: 0o711 });
  if (isDir) mkdirSync(target, { mode: 0o755 });
  else closeSync(openSync(target, 'a', 0o644));
  addon.idmapBind([source], [target], idMapText(map.uid), idMapText(map.gid));
}

/** An idmapBindOne mount detached; not mounted is fine. */
export function detachIdmapBind(target: string): void {
  detachAll([target]);
}

/** The idmapped binds detached; their (empty) mount points stay for the next mount and go with the container. */
function detachAll(targets: readonly string[]): void {
  const addon = nativeMount();
  for (const t of targets) {
    try {
      addon?.umount(t, 2 /* MNT_DETACH */);
    } catch {
      // not mounted (its idmapBind failed)
    }
  }
}

/**
 * Whether this kernel takes idmapped overlay lower dirs: a real mount of a scratch overlay under `dir`, its lower
 * idmapped, a file read through it. Answered once per run root (a file in it), since the kernel answers the same.
 */
export async function idmappedOverlaySupported(dir: string, cacheFile: string): Promise<boolean> {
  try {
    return (await fsp.readFile(cacheFile, 'utf8')).trim() === 'yes';
  } catch {
    // not probed yet
  }
  const ok = await probe(dir);
  await fsp.writeFile(cacheFile, ok ? 'yes\n' : 'no\n').catch(() => {});
  return ok;
}

async function probe(dir: string): Promise<boolean> {
  mkdirSync(dir, { recursive: true });
  const base = await fsp.mkdtemp(path.join(dir, '.idmap-check-'));
  const d = (n: string) => path.join(base, n);
  try {
    for (const n of ['l', 'u', 'w', 'm']) await fsp.mkdir(d(n));
    await fsp.writeFile(path.join(d('l'), 'probe'), 'ok');
    const map: IdMap = {
      uid: [{ containerID: 0, hostID: 100000, size: 1 }],
      gid: [{ containerID: 0, hostID: 100000, size: 1 }],
    };
    const mounts: Mount[] = [
      {
        type: 'overlay',
        source: 'overlay',
        options: [`lowerdir=${d('l')}`, `upperdir=${d('u')}`, `workdir=${d('w')}`],
      },
    ];
    await mountIdmapped(mounts, d('m'), map, d('s'));
    try {
      const st = await fsp.stat(path.join(d('m'), 'probe'));
      return st.uid === 100000 && (await fsp.readFile(path.join(d('m'), 'probe'), 'utf8')) === 'ok';
    } finally {
      nativeMount()?.umount(d('m'), 0);
    }
  } catch {
    return false;
  } finally {
    try {
      nativeMount()?.umount(d('m'), 2);
    } catch {
      // not mounted
    }
    await fsp.rm(base, { recursive: true, force: true });
  }
}

/**
 * A remapped container's user namespace, made by Wharf and kept by a bind mount on `target` for the life of one run:
 * runc joins it (and so does `exec`), and the container's network namespace is made inside it (netnsInUserns), so
 * that its root owns its network namespace as under Docker, where runc makes both.
 */
export function holdUserns(map: IdMap, target: string): void {
  const addon = nativeMount();
  if (!addon?.holdUserns) throw new WharfError('UNSUPPORTED', 'user namespaces need the native mount addon');
  mkdirSync(path.dirname(target), { recursive: true, mode: 0o711 });
  closeSync(openSync(target, 'a', 0o600));
  try {
    addon.holdUserns(idMapText(map.uid), idMapText(map.gid), target);
  } catch (err) {
    rmSync(target, { force: true });
    throw new WharfError('UNAVAILABLE', `cannot make the container's user namespace: ${(err as Error).message}`);
  }
}

/** The user namespace's bind mount and file removed; nothing there is fine. */
export function releaseUserns(target: string): void {
  try {
    nativeMount()?.umount(target, 2 /* MNT_DETACH */);
  } catch {
    // not mounted
  }
  rmSync(target, { force: true });
}

/** A new network namespace owned by the user namespace at `userns`, bind-mounted on `target` (replacing one there). */
export function netnsInUserns(userns: string, target: string): void {
  const addon = nativeMount();
  if (!addon?.netnsInUserns) throw new WharfError('UNSUPPORTED', 'user namespaces need the native mount addon');
  try {
    addon.netnsInUserns(userns, target);
  } catch (err) {
    throw new WharfError('INTERNAL', `cannot make the network namespace in ${userns}: ${(err as Error).message}`);
  }
}
