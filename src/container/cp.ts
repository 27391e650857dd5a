import { promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WharfError, isErrno, withDiskFullPlace } from '../errors/index.js';
import { applyLayer, resolveInRoot, reownTar } from '../archive/index.js';
import { ownerToHost, run, spawn, tarOwnerOf, type IdMap } from '../util/index.js';

/**
 * On an error about the host's side of a copy (its path there): the docker CLI finds those itself, so they are not
 * the daemon's answer when printed (cli/errors.ts).
 */
const HOST_SIDE = { clientSide: true };

/** Docker's `cp` argument rule: `NAME:PATH` is in a container unless the text starts like a local path. */
export function splitCpArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith('/') || arg.startsWith('.') || arg === '-') return { path: arg };
  const i = arg.indexOf(':');
  if (i <= 0) return { path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

const lstatOrUndef = async (p: string): Promise<Stats | undefined> => {
  try {
    return await fsp.lstat(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    throw err;
  }
};

/**
 * The root itself with a trailing slash: a running container's root is /proc/<pid>/root, a link that lstat would
 * report as such; with the slash it reports the directory it leads to.
 */
const rootSlash = (rootfs: string, p: string): string => (p === rootfs ? `${p}/` : p);

/** A path inside the rootfs: the parent resolved chroot-style, the last component kept (a symlink is copied as is). */
async function resolveSource(
  rootfs: string,
  p: string,
  followLink = false,
): Promise<{ abs: string; contentsOnly: boolean }> {
  const norm = path.posix.normalize(p.startsWith('/') ? p : `/${p}`);
  // The root has no name of its own to copy under (and a running container's is the link /proc/<pid>/root).
  const contentsOnly = p.endsWith('/.') || p === '.' || norm === '/';
  const followLast = followLink || contentsOnly || p.endsWith('/');
  if (followLast || norm === '/') return { abs: await resolveInRoot(rootfs, norm), contentsOnly };
  const parent = await resolveInRoot(rootfs, path.posix.dirname(norm));
  return { abs: path.join(parent, path.posix.basename(norm)), contentsOnly };
}

/** A tar of one file or directory tree by GNU tar (one process), entries named `name/…` (or `.` for contents). */
function gnuTarOf(dir: string, entry: string, rename?: string, excludes: readonly string[] = []): Readable {
  const args = ['-C', dir, '--numeric-owner', '-cf', '-', ...excludes.map((e) => `--exclude=${e}`)];
  if (rename !== undefined && rename !== entry) {
    const escRe = (s: string): string => s.replace(/[\\^$.*[\]|,&/]/g, (c) => `\\${c}`);
    const escRepl = (s: string): string => s.replace(/[\\,&]/g, (c) => `\\${c}`);
    args.push(`--transform=s,^${escRe(entry)},${escRepl(rename)},`);
  }
  args.push('--', entry);
  const child = spawn('tar', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // Consume stdout at once: Node resumes (and so discards) a child's unread stdout when the child exits. End the
  // stream only once tar's exit status is known, so a failed tar never looks like a complete (short) archive.
  const out = new PassThrough();
  child.stdout.pipe(out, { end: false });
  child.on('error', (e) => out.destroy(e));
  // A reader that gave up (the copy failed: a full disk) destroys the stream; tar, blocked on a full pipe, would keep
  // the command from ever exiting.
  out.once('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  child.on('close', (code) => {
    if (code === 0) out.end();
    else out.destroy(new WharfError('INTERNAL', `tar of ${path.join(dir, entry)} failed: ${err.trim()}`));
  });
  return out;
}

/** `cp CONTAINER:SRC DEST|-` with the container's rootfs at `rootfs` (`followLink`: `-L`, a link's target is copied). */
export async function copyFromContainer(
  rootfs: string,
  containerName: string,
  src: string,
  dest: string | Writable,
  opts: { followLink?: boolean; live?: boolean; idMap?: IdMap } = {},
): Promise<void> {
  const { abs, contentsOnly } = await resolveSource(rootfs, src, opts.followLink === true);
  // A remapped container's files are owned by its host ids: what leaves it carries its own ids (root as 0).
  const map = opts.idMap;
  const tarOf = map ? (...a: Parameters<typeof gnuTarOf>) => reownTar(gnuTarOf(...a), tarOwnerOf(map)) : gnuTarOf;
  const st = await lstatOrUndef(rootSlash(rootfs, abs));
  if (!st) throw new WharfError('NOT_FOUND', `Could not find the file ${src} in container ${containerName}`);
  // A running container's whole tree has the runtime's /proc, /sys and /dev mounted: copied as the empty
  // directories docker cp gives (their files change size under tar, and are no part of the container's file system).
  const excludes = opts.live && abs === rootfs ? ['./proc/*', './sys/*', './dev/*'] : [];
  if (typeof dest !== 'string') {
    const tar = contentsOnly ? tarOf(abs, '.', undefined, excludes) : tarOf(path.dirname(abs), path.basename(abs));
    await pipeline(tar, dest, { end: false });
    return;
  }
  const dst = await fsp.stat(dest).catch(() => undefined);
  if (dst?.isDirectory()) {
    await undoFailedCopy(contentsOnly ? undefined : path.join(dest, path.basename(abs)), async () => {
      if (excludes.length) await untarInto(dest, tarOf(abs, '.', undefined, excludes));
      else if (map)
        await untarInto(dest, contentsOnly ? tarOf(abs, '.') : tarOf(path.dirname(abs), path.basename(abs)));
      else await run('cp', ['-a', '--', contentsOnly ? `${abs}/.` : abs, dest]);
    }).catch((err: unknown) => Promise.reject(toolDiskFull(err, dest)));
    return;
  }
  if (dst && st.isDirectory()) throw new WharfError('INVALID_ARGUMENT', `cannot copy a directory to a file: ${dest}`);
  if (!dst && dest.endsWith('/')) {
    if (!st.isDirectory())
      throw new WharfError('NOT_FOUND', `destination directory ${dest} does not exist`, { details: HOST_SIDE });
  }
  const parent = await fsp.stat(path.dirname(path.resolve(dest))).catch(() => undefined);
  if (!parent?.isDirectory())
    throw new WharfError('NOT_FOUND', `destination directory ${path.dirname(dest)} does not exist`, {
      details: HOST_SIDE,
    });
  const to = dest.replace(/\/+$/, '') || '/';
  await undoFailedCopy(to, async () => {
    if (map) {
      if (dst) await fsp.rm(to, { force: true });
      await untarInto(path.dirname(path.resolve(to)), tarOf(path.dirname(abs), path.basename(abs), path.basename(to)));
    } else await run('cp', ['-a', '-T', '--', abs, to]);
  }).catch((err: unknown) => Promise.reject(toolDiskFull(err, to)));
}

/**
 * Run `copy`; if it fails, remove `made` (the entry it writes, unless that was there before: a partial file on a full
 * disk is no copy) before the error goes on.
 */
async function undoFailedCopy(made: string | undefined, copy: () => Promise<void>): Promise<void> {
  const existed = made !== undefined && (await lstatOrUndef(made)) !== undefined;
  try {
    await copy();
  } catch (err) {
    if (made !== undefined && !existed) await fsp.rm(made, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
}

/** cp(1)'s and tar(1)'s failures reach us as text: a full disk among them said as every full-disk error is. */
function toolDiskFull(err: unknown, place: string): unknown {
  const text = err instanceof Error ? err.message : String(err);
  const code = /No space left on device/.test(text) ? 'ENOSPC' : /Disk quota exceeded/.test(text) ? 'EDQUOT' : '';
  return code ? withDiskFullPlace(Object.assign(new Error(text), { code }), path.resolve(place)) : err;
}

/** Unpack a tar stream into a host directory with GNU tar (owners and modes kept, as `cp -a` does). */
async function untarInto(dir: string, tar: Readable): Promise<void> {
  const child = spawn('tar', ['-C', dir, '--numeric-owner', '-xpf', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code ?? 1));
  });
  await pipeline(tar, child.stdin);
  const code = await done;
  if (code !== 0) throw new WharfError('INTERNAL', `unpacking into ${dir} failed: ${err.trim()}`);
}

/** `cp SRC|- CONTAINER:DEST`: through a tar applied breakout-safe into the rootfs (symlinks cannot lead out). */
export async function copyToContainer(
  rootfs: string,
  src: string | Readable,
  dest: string,
  opts: { archive?: boolean; idMap?: IdMap } = {},
): Promise<void> {
  const destNorm = path.posix.normalize(dest.startsWith('/') ? dest : `/${dest}`);
  const target = await resolveInRoot(rootfs, destNorm);
  const tst = await lstatOrUndef(rootSlash(rootfs, target));
  const apply = async (tar: Readable, into: string): Promise<void> => {
    // Into a remapped container: its own ids (root without -a) become its host ids.
    const map = opts.idMap;
    try {
      await applyLayer(tar, into, {
        whiteouts: 'none',
        sameOwner: opts.archive === true,
        ...(map ? { owner: (uid: number, gid: number) => ownerToHost(map, uid, gid) } : {}),
      });
    } catch (err) {
      tar.destroy(); // its producer (gnuTarOf's tar) ends with it
      throw err;
    }
  };
  if (typeof src !== 'string') {
    if (!tst?.isDirectory()) throw new WharfError('NOT_FOUND', `Could not find the file ${dest} in container`);
    await apply(src, target);
    return;
  }
  const contentsOnly = src.endsWith('/.');
  const srcAbs = path.resolve(src);
  const sst = await lstatOrUndef(srcAbs);
  if (!sst) throw new WharfError('NOT_FOUND', `stat ${src}: no such file or directory`, { details: HOST_SIDE });
  if (tst?.isDirectory()) {
    await undoFailedCopy(contentsOnly ? undefined : path.join(target, path.basename(srcAbs)), () =>
      apply(contentsOnly ? gnuTarOf(srcAbs, '.') : gnuTarOf(path.dirname(srcAbs), path.basename(srcAbs)), target),
    );
    return;
  }
  if (tst && sst.isDirectory()) throw new WharfError('INVALID_ARGUMENT', `cannot copy a directory to a file: ${dest}`);
  if (!tst && dest.endsWith('/')) throw new WharfError('NOT_FOUND', `destination directory ${dest} does not exist`);
  const parentDir = await resolveInRoot(rootfs, path.posix.dirname(destNorm));
  const pst = await lstatOrUndef(rootSlash(rootfs, parentDir));
  if (!pst?.isDirectory())
    throw new WharfError('NOT_FOUND', `Could not find the file ${path.posix.dirname(destNorm)} in container`);
  // A new name (or replacing a file): the tar's top entry is renamed to the destination's last component.
  const base = path.posix.basename(destNorm);
  await undoFailedCopy(path.join(parentDir, base), () =>
    apply(gnuTarOf(path.dirname(srcAbs), path.basename(srcAbs), base), parentDir),
  );
}

/** Docker's container path stat (`X-Docker-Container-Path-Stat` of the archive endpoint): Go's os.FileMode bits. */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** A stat's mode as Go's os.FileMode: permission bits plus the type and special bits in Go's positions. */
export function goFileMode(st: Pick<Stats, 'mode'>): number {
  const fmt = st.mode & 0o170000;
  let m = st.mode & 0o777;
  if (st.mode & 0o4000) m |= 1 << 23; // ModeSetuid
  if (st.mode & 0o2000) m |= 1 << 22; // ModeSetgid
  if (st.mode & 0o1000) m |= 1 << 20; // ModeSticky
  if (fmt === 0o040000)
    m |= 2 ** 31; // ModeDir
  else if (fmt === 0o120000)
    m |= 1 << 27; // ModeSymlink
  else if (fmt === 0o010000)
    m |= 1 << 25; // ModeNamedPipe
  else if (fmt === 0o140000)
    m |= 1 << 24; // ModeSocket
  else if (fmt === 0o060000)
    m |= 1 << 26; // ModeDevice
  else if (fmt === 0o020000) m |= (1 << 26) | (1 << 21); // ModeDevice | ModeCharDevice
  return m >>> 0;
}

/** `cp`'s stat of a path in the container (the last component not followed, as docker's statPath). */
export async function statInContainer(rootfs: string, containerName: string, p: string): Promise<PathStat> {
  const { abs } = await resolveSource(rootfs, p);
  const st = await lstatOrUndef(rootSlash(rootfs, abs));
  if (!st) throw new WharfError('NOT_FOUND', `Could not find the file ${p} in container ${containerName}`);
  const norm = path.posix.normalize(p.startsWith('/') ? p : `/${p}`);
  return {
    name: norm === '/' ? '/' : path.posix.basename(norm),
    size: st.size,
    mode: goFileMode(st),
    mtime: st.mtime.toISOString().replace(/\.\d+Z$/, 'Z'),
    linkTarget: st.isSymbolicLink() ? await fsp.readlink(abs) : '',
  };
}
