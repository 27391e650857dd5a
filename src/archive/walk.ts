import * as fs from 'node:fs';
import type { Stats } from 'node:fs';
import * as path from 'node:path';

export interface TreeEntry {
  name: string;
  /** Path relative to the walked root, '/'-separated, no leading slash. */
  rel: string;
  abs: string;
  st: Stats;
}

export interface WalkOptions {
  /** Order the children of one directory; default: by name bytes. */
  order?: (children: TreeEntry[]) => TreeEntry[];
  /** Whether to yield (and descend into) an entry; default: all. */
  include?: (entry: TreeEntry) => boolean;
}

export function byNameBytes(a: { name: string }, b: { name: string }): number {
  return Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
}

/**
 * Depth-first walk below `root` (the root itself is not yielded), never following symlinks: each directory is
 * yielded before its contents, siblings in a fixed order. Memory is bounded by one directory listing per level.
 */
export async function* walkTree(root: string, opts: WalkOptions = {}): AsyncGenerator<TreeEntry> {
  const order = opts.order ?? ((c: TreeEntry[]) => c.sort(byNameBytes));
  // Synchronous on purpose: readdir and lstat take microseconds each, and a thread-pool round trip per entry made
  // archiving several times slower. Each call blocks only for one directory.
  function list(dirAbs: string, dirRel: string): TreeEntry[] {
    const entries = fs.readdirSync(dirAbs).map((name) => {
      const abs = path.join(dirAbs, name);
      return { name, rel: dirRel ? `${dirRel}/${name}` : name, abs, st: fs.lstatSync(abs) };
    });
    return order(entries);
  }
  const stack: TreeEntry[][] = [list(root, '')];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const entry = top.shift();
    if (!entry) {
      stack.pop();
      continue;
    }
    if (opts.include && !opts.include(entry)) continue;
    yield entry;
    if (entry.st.isDirectory()) stack.push(list(entry.abs, entry.rel));
  }
}
