import { promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { isErrno } from '../errors/index.js';
import { assertPlainUpperEntry, isOpaqueDir, isOverlayWhiteout } from './fsmeta.js';
import { TarWriter, tarMtime, type TarHeader, type TarOptions } from './pack.js';
import { byNameBytes, walkTree, type TreeEntry } from './walk.js';

export interface Change {
  kind: 'A' | 'C' | 'D';
  /** Absolute inside the rootfs: '/etc/x'. */
  path: string;
}

export interface DiffTarOptions extends TarOptions {
  /** Leave out a path (absolute inside the rootfs, e.g. '/etc/hostname') and, for a directory, all below it. */
  exclude?: (path: string) => boolean;
}

/** Whiteouts first within a directory (the OCI image-spec asks for them before their siblings), then by name bytes. */
function whiteoutsFirst(children: TreeEntry[]): TreeEntry[] {
  return children.sort((a, b) => {
    const wa = isOverlayWhiteout(a.st) ? 0 : 1;
    const wb = isOverlayWhiteout(b.st) ? 0 : 1;
    return wa - wb || byNameBytes(a, b);
  });
}

function whiteoutName(rel: string): string {
  const dir = path.posix.dirname(rel);
  const base = `.wh.${path.posix.basename(rel)}`;
  return dir === '.' ? base : `${dir}/${base}`;
}

/** One entry of an upper dir's layer tar: its header, and for a regular file the path its body is read from. */
export interface UpperTarEntry {
  header: TarHeader;
  abs?: string;
}

/**
 * The entries of the OCI layer tar of an overlay upper dir, in archive order: 0/0 character devices become
 * `.wh.name` entries, opaque directories a directory entry followed by `.wh..wh..opq`, everything else as it is
 * (overlay-private xattrs left out). `headers` builds (and remembers hardlinks for) the plain entries. The one walk
 * both the streamed tar (overlayDiffTar) and the one-pass commit (upper-copy.ts) use, so they agree byte for byte.
 */
export async function* overlayTarEntries(
  upperDir: string,
  headers: TarWriter,
  opts: DiffTarOptions = {},
): AsyncGenerator<UpperTarEntry> {
  const walk = walkTree(upperDir, {
    order: whiteoutsFirst,
    include: (e) => !opts.exclude?.(`/${e.rel}`),
  });
  for await (const e of walk) {
    if (isOverlayWhiteout(e.st)) {
      yield {
        header: {
          name: whiteoutName(e.rel),
          type: 'file',
          mode: 0o600,
          uid: e.st.uid,
          gid: e.st.gid,
          size: 0,
          mtime: tarMtime(e.st, opts),
        },
      };
      continue;
    }
    if (e.st.isDirectory() || e.st.isFile()) assertPlainUpperEntry(e.abs, e.st.isDirectory());
    const header = headers.headerFor(e.abs, e.st, e.rel);
    if (header) yield { header, abs: e.abs };
    if (e.st.isDirectory() && (await isOpaqueDir(e.abs))) {
      yield {
        header: {
          name: `${e.rel}/.wh..wh..opq`,
          type: 'file',
          mode: e.st.mode & 0o777,
          uid: e.st.uid,
          gid: e.st.gid,
          size: 0,
          mtime: tarMtime(e.st, opts),
        },
      };
    }
  }
}

/**
 * The OCI layer tar of an overlay upper dir (see overlayTarEntries).
 * `lowerDirs` is not needed for that (the upper dir is the diff) and is accepted for symmetry with overlayChanges.
 */
export function overlayDiffTar(upperDir: string, _lowerDirs: string[], opts: DiffTarOptions = {}): Readable {
  const writer = new TarWriter(opts);
  return writer.run(async (w) => {
    for await (const e of overlayTarEntries(upperDir, w, opts)) await w.addWithBodyFrom(e.header, e.abs);
  });
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await fsp.lstat(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return null;
    throw err;
  }
}

/** Whether `name` is visible in the merged lower view of a directory whose visible lower copies are `lowers`. */
async function inLowers(lowers: string[], name: string): Promise<boolean> {
  for (const dir of lowers) {
    const st = await lstatOrNull(path.join(dir, name));
    if (!st) continue;
    return !isOverlayWhiteout(st);
  }
  return false;
}

/** The lower copies of child directory `name` that stay visible, top-most first (opaque dirs and non-dirs cut). */
async function childLowers(lowers: string[], name: string): Promise<string[]> {
  const out: string[] = [];
  for (const dir of lowers) {
    const p = path.join(dir, name);
    const st = await lstatOrNull(p);
    if (!st) continue;
    if (!st.isDirectory()) break;
    out.push(p);
    if (await isOpaqueDir(p)) break;
  }
  return out;
}

/**
 * Docker's `diff` (A/C/D) from an overlay upper dir, in walk order (each directory before its contents, siblings by
 * name bytes). Lower dirs are top-most first; they are only lstat'ed at the paths the upper dir names.
 */
export async function* overlayChanges(upperDir: string, lowerDirs: string[]): AsyncGenerator<Change> {
  // The visible lower copies of each upper directory on the current walk path.
  const lowersOf = new Map<string, string[]>([['', [...lowerDirs]]]);
  for await (const e of walkTree(upperDir)) {
    const parentRel = path.posix.dirname(e.rel) === '.' ? '' : path.posix.dirname(e.rel);
    const lowers = lowersOf.get(parentRel) ?? [];
    const p = `/${e.rel}`;
    if (isOverlayWhiteout(e.st)) {
      yield { kind: 'D', path: p };
      continue;
    }
    if (e.st.isDirectory() || e.st.isFile()) assertPlainUpperEntry(e.abs, e.st.isDirectory());
    const existed = lowers.length > 0 && (await inLowers(lowers, e.name));
    yield { kind: existed ? 'C' : 'A', path: p };
    if (e.st.isDirectory()) {
      // Below an opaque or new directory nothing from the lowers shows, so everything there is an addition.
      const opaque = existed && (await isOpaqueDir(e.abs));
      lowersOf.set(e.rel, existed && !opaque ? await childLowers(lowers, e.name) : []);
    }
    // Forget directories the walk has left, keeping memory to the current path.
    if (lowersOf.size > 64) {
      for (const k of lowersOf.keys()) {
        if (k !== '' && k !== e.rel && !e.rel.startsWith(`${k}/`) && k !== parentRel) lowersOf.delete(k);
      }
    }
  }
}
