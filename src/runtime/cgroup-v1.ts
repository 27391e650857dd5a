/** cgroup v1 details the monitor needs: OOM-kill detection and removing the parent cgroups runc leaves. */
import { promises as fsp, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import * as path from 'node:path';

const MEMORY_CGROUP = '/sys/fs/cgroup/memory';

async function readCgroupNumber(cgroup: string, file: string, key?: string): Promise<number> {
  const text = await fsp.readFile(path.join(MEMORY_CGROUP, cgroup, file), 'utf8').catch(() => '');
  if (key === undefined) return Number.parseInt(text, 10) || 0;
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** Charges are batched, so a cgroup at its limit can show up to this much less. */
const OOM_SLACK = 512 * 1024;

/**
 * Whether the kernel OOM-killed the container, from cgroup v1 files without the eventfd Node lacks: the container
 * cgroup's oom_kill counter while it exists (a child killed), and for a SIGKILLed init (runc removes the container's
 * cgroup at once) the peak usage kept by a per-container parent cgroup reaching the limit.
 */
export class OomWatch {
  private seen = 0;
  private timer?: NodeJS.Timeout;

  private constructor(
    private readonly leaf: string,
    private readonly parent: string | undefined,
    private readonly limit: number,
  ) {}

  static async start(bundle: string): Promise<OomWatch | undefined> {
    const spec = JSON.parse(await fsp.readFile(path.join(bundle, 'config.json'), 'utf8')) as {
      linux?: { cgroupsPath?: string; resources?: { memory?: { limit?: number } } };
    };
    const leaf = spec.linux?.cgroupsPath;
    const limit = spec.linux?.resources?.memory?.limit;
    if (!leaf || !leaf.startsWith('/') || !limit || limit <= 0) return undefined;
    const parentPath = path.posix.dirname(leaf);
    const w = new OomWatch(leaf, parentPath === '/' ? undefined : parentPath, limit);
    w.timer = setInterval(() => {
      void readCgroupNumber(leaf, 'memory.oom_control', 'oom_kill').then((n) => (w.seen = Math.max(w.seen, n)));
    }, 200);
    return w;
  }

  async stop(exitCode: number): Promise<boolean> {
    clearInterval(this.timer);
    this.seen = Math.max(this.seen, await readCgroupNumber(this.leaf, 'memory.oom_control', 'oom_kill'));
    if (this.seen > 0) return true;
    if (exitCode !== 137 || this.parent === undefined) return false;
    return (await readCgroupNumber(this.parent, 'memory.max_usage_in_bytes')) >= this.limit - OOM_SLACK;
  }
}

/** runc removes the container's cgroup but not the parents it made; an empty parent is ours to remove. */
export function removeEmptyCgroupParent(bundle: string): void {
  // Synchronously: a dozen rmdirs on cgroupfs take microseconds; through the thread pool they took ~5 ms of every
  // container's exit, between the exit and the client hearing of it.
  try {
    const spec = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')) as { linux?: { cgroupsPath?: string } };
    const leaf = spec.linux?.cgroupsPath;
    if (!leaf || !leaf.startsWith('/')) return;
    const parent = path.posix.dirname(leaf);
    if (parent === '/') return;
    // rmdir refuses a cgroup that still has children, so a parent shared with running containers stays.
    for (const c of readdirSync('/sys/fs/cgroup')) {
      try {
        rmdirSync(path.join('/sys/fs/cgroup', c, parent));
      } catch {
        /* not there, not empty, or not a hierarchy */
      }
    }
  } catch {
    /* best effort */
  }
}

