import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isOpaqueDir, isOverlayWhiteout, overlayChanges, type Change } from '../archive/index.js';

/**
 * Docker's `diff` over an overlay snapshot's own changes (its upper dir). On top of the upper dir's own entries, an
 * opaque directory (a directory removed and made again) hides what the lower layers had in it: those entries are
 * listed as deleted, as dockerd reports them. Output in walk order: each directory before its contents, siblings by name.
 */
export async function overlayLayerChanges(upperDir: string, lowerDirs: string[]): Promise<Change[]> {
  const out: Change[] = [];
  for await (const c of overlayChanges(upperDir, lowerDirs)) {
    out.push(c);
    if (c.kind !== 'C') continue;
    const abs = path.join(upperDir, c.path);
    const st = await fsp.lstat(abs);
    if (!st.isDirectory() || !(await isOpaqueDir(abs))) continue;
    const inUpper = new Set(await fsp.readdir(abs));
    for (const name of await lowerNames(lowerDirs, c.path)) {
      if (!inUpper.has(name)) out.push({ kind: 'D', path: path.posix.join(c.path, name) });
    }
  }
  return out.sort((a, b) => comparePaths(a.path, b.path));
}

/** Names visible in the merged lower view of directory `rel` (whiteouts and opaque dirs honoured). */
async function lowerNames(lowerDirs: string[], rel: string): Promise<string[]> {
  const seen = new Set<string>();
  const names: string[] = [];
  for (const dir of lowerDirs) {
    const abs = path.join(dir, rel);
    const st = await fsp.lstat(abs).catch(() => undefined);
    if (!st) continue;
    if (!st.isDirectory()) break;
    for (const name of await fsp.readdir(abs)) {
      if (seen.has(name)) continue;
      seen.add(name);
      const est = await fsp.lstat(path.join(abs, name));
      if (!isOverlayWhiteout(est)) names.push(name);
    }
    if (await isOpaqueDir(abs)) break;
  }
  return names;
}

function comparePaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return Buffer.compare(Buffer.from(pa[i]!), Buffer.from(pb[i]!));
  }
  return pa.length - pb.length;
}
