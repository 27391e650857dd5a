import { promises as fsp } from 'node:fs';
import type { Snapshotter } from './types.js';

/**
 * The snapshots a process still uses, whatever Wharf's records say: `system check --repair` must never delete a
 * directory under a running process (a killed build's RUN step went on running on its overlay, and the repair pulled
 * its upper dir away). A snapshot is in use when its directory appears in a mount of any mount namespace (an overlay's
 * upperdir/lowerdir, a bind mount's source) or is a process's root or working directory. Maps key → who uses it.
 */
export async function snapshotsInUse(snapshots: Snapshotter, keys?: Iterable<string>): Promise<Map<string, string>> {
  const dirs = new Map<string, string>();
  if (keys) for (const k of keys) dirs.set(snapshots.differ.diffDir(k), k);
  else for await (const s of snapshots.walk()) dirs.set(snapshots.differ.diffDir(s.key), s.key);
  const used = new Map<string, string>();
  if (dirs.size === 0) return used;
  const seenNs = new Set<string>();
  for (const pid of await processIds()) {
    const ns = await fsp.readlink(`/proc/${pid}/ns/mnt`).catch(() => undefined);
    if (ns && !seenNs.has(ns)) {
      seenNs.add(ns);
      const info = await fsp.readFile(`/proc/${pid}/mountinfo`, 'utf8').catch(() => '');
      for (const [dir, key] of dirs) {
        if (!used.has(key) && mentions(info, dir)) used.set(key, `mounted (process ${pid}'s mount namespace)`);
      }
    }
    for (const link of ['root', 'cwd']) {
      const target = await fsp.readlink(`/proc/${pid}/${link}`).catch(() => undefined);
      if (!target) continue;
      for (const [dir, key] of dirs) {
        if (!used.has(key) && (target === dir || target.startsWith(`${dir}/`)))
          used.set(key, `the ${link === 'root' ? 'root' : 'working'} directory of process ${pid}`);
      }
    }
  }
  return used;
}

async function processIds(): Promise<number[]> {
  return (await fsp.readdir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number);
}

/** Whether mountinfo text names `dir` as a whole path (not a prefix of a longer name). */
function mentions(info: string, dir: string): boolean {
  for (let i = info.indexOf(dir); i >= 0; i = info.indexOf(dir, i + 1)) {
    const next = info[i + dir.length];
    if (next === undefined || next === ',' || next === ' ' || next === ':' || next === '\n' || next === '/')
      return true;
  }
  return false;
}
