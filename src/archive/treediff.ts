import * as fs from 'node:fs';
import type { BigIntStats, Stats } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { readXattrs } from './fsmeta.js';
import type { Change, DiffTarOptions } from './overlay.js';
import { TarWriter, tarMtime } from './pack.js';
import { byNameBytes } from './walk.js';

/**
 * Docker's naive diff (the vfs driver's `ChangesDirs`) for two full trees, for the native snapshotter where there is
 * no overlay upper dir: what `upper` added (A), changed (C) and deleted (D) relative to `lower`. A file counts as
 * changed when its type, mode, owner, device, size, mtime (to the nanosecond), symlink target or xattrs differ;
 * a directory only by type, mode, owner or xattrs, and it is also marked C when something inside it changed.
 */

interface Node {
  name: string;
  rel: string;
  abs: string;
  st: Stats;
}

export interface TreeChange extends Change {
  /** The upper node for A and C. */
  node?: Node;
}

function list(dir: string, rel: string): Node[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return [];
    throw err;
  }
  return names
    .map((name) => {
      const abs = path.join(dir, name);
      return { name, rel: rel ? `${rel}/${name}` : name, abs, st: fs.lstatSync(abs) };
    })
    .sort(byNameBytes);
}

function sameXattrs(a: string, b: string): boolean {
  const xa = readXattrs(a);
  const xb = readXattrs(b);
  return xa.length === xb.length && xa.every(([k, v], i) => xb[i]![0] === k && xb[i]![1].equals(v));
}

function changed(lower: Node, upper: Node): boolean {
  const a = fs.lstatSync(lower.abs, { bigint: true }) as BigIntStats;
  const b = fs.lstatSync(upper.abs, { bigint: true }) as BigIntStats;
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.rdev !== b.rdev) return true;
  if (!b.isDirectory() && (a.mtimeNs !== b.mtimeNs || a.size !== b.size)) return true;
  if (b.isSymbolicLink() && fs.readlinkSync(lower.abs) !== fs.readlinkSync(upper.abs)) return true;
  return !sameXattrs(lower.abs, upper.abs);
}

/**
 * Changes of one directory level, whiteouts (D) first as the OCI image-spec asks of layers, then the rest by name;
 * each directory is followed by its own changes. The whole list is kept in memory: it is as long as the diff.
 */
function diffLevel(
  lowerDir: string | undefined,
  upperDir: string,
  rel: string,
  out: TreeChange[],
  exclude?: (p: string) => boolean,
): void {
  const uppers = list(upperDir, rel);
  const lowers = lowerDir === undefined ? [] : list(lowerDir, rel);
  const upperByName = new Map(uppers.map((n) => [n.name, n]));
  const lowerByName = new Map(lowers.map((n) => [n.name, n]));
  for (const l of lowers) {
    if (!upperByName.has(l.name) && !exclude?.(`/${l.rel}`)) out.push({ kind: 'D', path: `/${l.rel}` });
  }
  for (const u of uppers) {
    if (exclude?.(`/${u.rel}`)) continue;
    const l = lowerByName.get(u.name);
    const dirBelow = u.st.isDirectory() && (l === undefined || l.st.isDirectory());
    if (l === undefined) {
      out.push({ kind: 'A', path: `/${u.rel}`, node: u });
      if (u.st.isDirectory()) diffLevel(undefined, u.abs, u.rel, out, exclude);
      continue;
    }
    const at = out.length;
    const self = changed(l, u);
    if (u.st.isDirectory()) diffLevel(dirBelow ? l.abs : undefined, u.abs, u.rel, out, exclude);
    if (self || out.length > at) out.splice(at, 0, { kind: 'C', path: `/${u.rel}`, node: u });
  }
}

function diffTree(lowerDir: string, upperDir: string, exclude?: (p: string) => boolean): TreeChange[] {
  const out: TreeChange[] = [];
  diffLevel(lowerDir, upperDir, '', out, exclude);
  return out;
}

/** Docker's A/C/D between two full trees (native snapshots), in the order a layer lists them. */
export async function* directoryChanges(lowerDir: string, upperDir: string): AsyncGenerator<Change> {
  // Sorted like overlayChanges (each directory before its contents, siblings by name bytes), not whiteouts first.
  const byPath = (a: Change, b: Change) => {
    const pa = a.path.split('/');
    const pb = b.path.split('/');
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      const c = Buffer.compare(Buffer.from(pa[i]!), Buffer.from(pb[i]!));
      if (c !== 0) return c;
    }
    return pa.length - pb.length;
  };
  for (const c of diffTree(lowerDir, upperDir).sort(byPath)) yield { kind: c.kind, path: c.path };
}

/** The OCI layer tar that turns `lowerDir` into `upperDir`: changed and added entries, `.wh.` for deletions. */
export function directoryDiffTar(lowerDir: string, upperDir: string, opts: DiffTarOptions = {}): Readable {
  return new TarWriter(opts).run(async (w) => {
    for (const c of diffTree(lowerDir, upperDir, opts.exclude)) {
      const rel = c.path.slice(1);
      if (c.kind !== 'D') {
        await w.addPath(c.node!.abs, c.node!.st, rel);
        continue;
      }
      const parentRel = path.posix.dirname(rel);
      const parent = fs.lstatSync(parentRel === '.' ? upperDir : path.join(upperDir, parentRel));
      const name =
        parentRel === '.' ? `.wh.${path.posix.basename(rel)}` : `${parentRel}/.wh.${path.posix.basename(rel)}`;
      await w.add({ name, type: 'file', mode: 0o600, uid: 0, gid: 0, size: 0, mtime: tarMtime(parent, opts) });
    }
  });
}
