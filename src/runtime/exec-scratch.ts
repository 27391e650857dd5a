import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/**
 * How old a dead client's scratch dir must be before another exec removes it: a pid can look dead to a process in
 * another pid namespace that shares this temp dir, and an exec needs its dir only while runc starts (process.json,
 * the pid file) and when it ends (runc's log).
 */
const STALE_AFTER_MS = 60_000;

/**
 * A directory for one `runc exec`'s files (process.json, runc's pid file and log), removed by the caller when the
 * exec ends. A client killed before that (a closed terminal's SIGHUP, a SIGKILL) cannot remove it, so the dirs live
 * under one per-user parent, `<tmp>/wharf-exec-<uid>`, named `<pid>-XXXXXX`, and each exec removes those of clients
 * that are gone: one readdir of a small directory, not of all of /tmp. Not under the run root: `exec` works on a
 * root whose filesystem is full when /tmp has room (test/faults/commit-full-disk.test.ts), as Wharf always has.
 * A parent that is not ours alone (another owner, group or other access, a symlink) is not used: the dir is then
 * made in `<tmp>` itself, as before, and not swept.
 */
export async function makeExecScratch(tmp: string, now = Date.now()): Promise<string> {
  const uid = process.getuid?.() ?? 0;
  const parent = path.join(tmp, `wharf-exec-${uid}`);
  if (!(await ownedPrivateDir(parent, uid))) return fsp.mkdtemp(path.join(tmp, 'wharf-exec-'));
  await sweepDeadClients(parent, now);
  return fsp.mkdtemp(path.join(parent, `${process.pid}-`));
}

async function ownedPrivateDir(dir: string, uid: number): Promise<boolean> {
  await fsp.mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const st = await fsp.lstat(dir);
  return st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0;
}

/** Remove the scratch dirs whose client process no longer exists (and that are older than STALE_AFTER_MS). */
export async function sweepDeadClients(parent: string, now = Date.now()): Promise<void> {
  for (const name of await fsp.readdir(parent).catch(() => [] as string[])) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (!(pid > 0) || pid === process.pid || alive(pid)) continue;
    const dir = path.join(parent, name);
    const st = await fsp.lstat(dir).catch(() => undefined);
    if (!st || now - st.mtimeMs < STALE_AFTER_MS) continue;
    await fsp.rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
