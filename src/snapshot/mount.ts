import { existsSync, promises as fsp, readFileSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { WharfError, isErrno } from '../errors/index.js';
import { loadNativeAddon, removeTreeSync, run } from '../util/index.js';
import type { Mount } from './types.js';

export interface MountAddon {
  mount(source: string, target: string, fstype: string, flags: number, data: string): void;
  umount(target: string, flags: number): void;
  /** An idmapped bind mount of each source on its target (/proc/<pid>/uid_map and gid_map texts); idmap-mount.ts. */
  idmapBind?(sources: string[], targets: string[], uidMap: string, gidMap: string): void;
  holdUserns?(uidMap: string, gidMap: string, target: string): void;
  netnsInUserns?(userns: string, target: string): void;
}
const MNT_DETACH = 2;

/** native/mount.c: the syscalls themselves, without a fork and exec of mount(8) per call (several per container start). */
export const nativeMount = (): MountAddon | null =>
  loadNativeAddon<MountAddon>('wharf_mount', (m) => typeof m.mount === 'function' && typeof m.umount === 'function');

/** Whether mounts go through the native addon (else through mount(8)/umount(8)). */
export function nativeMountAvailable(): boolean {
  return nativeMount() !== null;
}

// mount(2) copies at most one page of option data; keep clear of it (mount(8) may add a few options of its own).
const MAX_MOUNT_DATA = 3072;

/**
 * Mount `mounts` on `target` in order (later ones stack on earlier ones). If one fails, the ones already mounted are
 * undone. Overlay option strings too long for one page (deep layer chains) are rewritten with paths relative to their
 * common parent directory, and mount(8) runs there.
 */
export async function mountAll(mounts: readonly Mount[], target: string): Promise<void> {
  let mounted = 0;
  try {
    for (const m of mounts) {
      await mountOne(m, target);
      mounted++;
    }
  } catch (err) {
    for (let i = 0; i < mounted; i++) await unmountOnce(target, false).catch(() => {});
    throw err;
  }
}

async function mountOne(m: Mount, target: string): Promise<void> {
  if (m.type === 'bind') {
    const opts = m.options.some((o) => o === 'bind' || o === 'rbind') ? m.options : ['bind', ...m.options];
    await runMount(['-o', opts.join(','), m.source, target], undefined, target);
    return;
  }
  if (m.type === 'overlay') {
    for (const o of m.options) checkOverlayOption(o);
    await clearVolatileMarker(m.options);
    let options = m.options;
    let cwd: string | undefined;
    if (options.join(',').length > MAX_MOUNT_DATA) ({ options, cwd } = relativeOverlayOptions(options));
    const native = cwd === undefined ? nativeMount() : null;
    if (native) {
      try {
        native.mount(m.source, target, 'overlay', 0, options.join(','));
      } catch (err) {
        throw new WharfError('INTERNAL', `cannot mount on ${target}: ${(err as Error).message}`, {
          details: { options },
        });
      }
      return;
    }
    await runMount(['-t', 'overlay', '-o', options.join(','), m.source, target], cwd, target);
    return;
  }
  throw new WharfError('INVALID_ARGUMENT', `unsupported mount type ${JSON.stringify((m as Mount).type)} for ${target}`);
}

/**
 * Overlay mounts with `volatile` never sync the upper filesystem, in particular not at unmount, where a plain overlay
 * waits for every dirty page of the whole upper filesystem (a busy disk made one `run --rm` unmount take 180 ms here).
 * For layers that die with their container (`run --rm`, as podman does) and for the init layer's few empty files.
 */
export function volatileMounts(mounts: readonly Mount[]): Mount[] {
  return mounts.map((m) =>
    m.type === 'overlay' && !m.options.includes('volatile') ? { ...m, options: [...m.options, 'volatile'] } : m,
  );
}

/**
 * A volatile mount leaves work/incompat/volatile behind, and the kernel refuses to mount that upper again while it
 * exists (after a crash the upper may be torn). Wharf mounts only disposable uppers volatile (an `--rm` container
 * that is mounted for `cp` before it starts, say, is mounted again): clear it and go on.
 */
async function clearVolatileMarker(options: readonly string[]): Promise<void> {
  const work = options.find((o) => o.startsWith('workdir='))?.slice('workdir='.length);
  // Synchronously: on every container start, and usually there is nothing to remove.
  if (work) removeTreeSync(path.join(work, 'work', 'incompat', 'volatile'));
}

async function runMount(args: string[], cwd: string | undefined, target: string): Promise<void> {
  const res = await run('mount', args, { ...(cwd !== undefined ? { cwd } : {}), check: false });
  if (res.code !== 0) {
    const why = res.stderr.trim().split('\n')[0] ?? `exit ${res.code}`;
    throw new WharfError('INTERNAL', `cannot mount on ${target}: ${why}`, { details: { args, cwd } });
  }
}

// Overlay splits lowerdir on ':' and mount(8) splits options on ','; the snapshot paths never need either.
function checkOverlayOption(o: string): void {
  const eq = o.indexOf('=');
  if (eq < 0) return;
  const key = o.slice(0, eq);
  const value = o.slice(eq + 1);
  if (/[,\\]/.test(value) || (key !== 'lowerdir' && value.includes(':'))) {
    throw new WharfError('INVALID_ARGUMENT', `overlay option ${key} holds a path with ',', ':' or '\\': ${value}`);
  }
}

const PATH_OPTIONS = new Set(['lowerdir', 'upperdir', 'workdir']);

function relativeOverlayOptions(options: readonly string[]): { options: string[]; cwd: string } {
  const paths: string[] = [];
  for (const o of options) {
    const [k, v] = splitOption(o);
    if (v !== undefined && PATH_OPTIONS.has(k)) paths.push(...(k === 'lowerdir' ? v.split(':') : [v]));
  }
  const cwd = commonDir(paths);
  const rel = (p: string) => path.relative(cwd, p) || '.';
  const out = options.map((o) => {
    const [k, v] = splitOption(o);
    if (v === undefined || !PATH_OPTIONS.has(k)) return o;
    return `${k}=${k === 'lowerdir' ? v.split(':').map(rel).join(':') : rel(v)}`;
  });
  if (out.join(',').length > MAX_MOUNT_DATA) {
    throw new WharfError(
      'INVALID_ARGUMENT',
      `overlay mount has too many layers (${paths.length} directories) for one mount`,
    );
  }
  return { options: out, cwd };
}

function splitOption(o: string): [string, string | undefined] {
  const eq = o.indexOf('=');
  return eq < 0 ? [o, undefined] : [o.slice(0, eq), o.slice(eq + 1)];
}

function commonDir(paths: readonly string[]): string {
  if (paths.length === 0) return '/';
  let parts = path.resolve(paths[0]!).split(path.sep);
  for (const p of paths.slice(1)) {
    const q = path.resolve(p).split(path.sep);
    let i = 0;
    while (i < parts.length && i < q.length && parts[i] === q[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join(path.sep) || path.sep;
}

/**
 * Unmount everything stacked on `target`. A target that is not mounted, or does not exist, is fine.
 * `lazy` detaches it even while busy (umount -l).
 */
export async function unmount(target: string, opts: { lazy?: boolean } = {}): Promise<void> {
  for (let i = 0; i < 32; i++) {
    if (!(await isMountPoint(target))) return;
    await unmountOnce(target, opts.lazy ?? false);
  }
  throw new WharfError('INTERNAL', `${target} is still mounted after 32 unmounts`);
}

async function unmountOnce(target: string, lazy: boolean): Promise<void> {
  const native = nativeMount();
  if (native) {
    try {
      native.umount(target, lazy ? MNT_DETACH : 0);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'EINVAL' || code === 'ENOENT') return; // not (or no longer) mounted
      throw new WharfError(
        code === 'EBUSY' ? 'CONFLICT' : 'INTERNAL',
        `cannot unmount ${target}: ${(err as Error).message}`,
      );
    }
    return;
  }
  const res = await run('umount', lazy ? ['-l', target] : [target], { check: false });
  if (res.code === 0) return;
  const why = res.stderr.trim().split('\n')[0] ?? `exit ${res.code}`;
  if (/not mounted|no mount point specified|not found/i.test(why)) return;
  const code = /busy/i.test(why) ? 'CONFLICT' : 'INTERNAL';
  throw new WharfError(code, `cannot unmount ${target}: ${why}`);
}

/** Whether `target` is a mount point in this process's mount namespace. */
export async function isMountPoint(target: string): Promise<boolean> {
  // Synchronously: asked at every container start and removal, and two thread-pool trips cost more than the reads.
  let real: string;
  try {
    real = realpathSync.native(target); // libc's: one call, where the JS version lstats every component
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return false;
    throw err;
  }
  const info = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const line of info.split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (mountPoint !== undefined && unescapeMountinfo(mountPoint) === real) return true;
  }
  return false;
}

// The kernel writes space, tab, newline and backslash in mountinfo as octal escapes.
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * Whether overlayfs works on `dir`'s filesystem here: a real mount of two lower dirs, an upper and a work dir in a
 * temp dir under `dir`, reading a lower file through it. Needs root (or a user namespace that allows it).
 */
export async function overlaySupported(dir: string): Promise<boolean> {
  await fsp.mkdir(dir, { recursive: true });
  const base = await fsp.mkdtemp(path.join(dir, '.overlay-check-'));
  const d = (n: string) => path.join(base, n);
  try {
    for (const n of ['l1', 'l2', 'u', 'w', 'm']) await fsp.mkdir(d(n));
    await fsp.writeFile(path.join(d('l1'), 'probe'), 'ok');
    await mountAll(
      [
        {
          type: 'overlay',
          source: 'overlay',
          options: [`lowerdir=${d('l2')}:${d('l1')}`, `upperdir=${d('u')}`, `workdir=${d('w')}`],
        },
      ],
      d('m'),
    );
    try {
      return (await fsp.readFile(path.join(d('m'), 'probe'), 'utf8')) === 'ok';
    } finally {
      await unmount(d('m'));
    }
  } catch {
    return false;
  } finally {
    await unmount(d('m'), { lazy: true }).catch(() => {});
    await fsp.rm(base, { recursive: true, force: true });
  }
}

/** `index=off` where the kernel knows the option: an upper dir later becomes a lower dir of other mounts. */
export async function overlayDefaultOptions(): Promise<string[]> {
  // existsSync: one stat of sysfs, where the promise form made this the first thread-pool trip of every `run`.
  return existsSync('/sys/module/overlay/parameters/index') ? ['index=off'] : [];
}
