import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { WharfError, isErrno } from '../errors/index.js';
import { exists, fsyncDir } from '../util/index.js';

/**
 * Make a fully written, synced and verified temp file visible at `target`.
 * A blob that is already there wins: its bytes are the same by construction, and leaving it alone keeps readers and
 * hardlinks of it undisturbed. The stat-then-rename race between two writers of one blob is harmless for the same
 * reason (the loser replaces the file with identical bytes). `transient`: the blob is deleted again soon (see
 * CommitOptions), so its name need not be forced to disk either.
 */
export async function publishBlob(tmp: string, target: string, opts: { transient?: boolean } = {}): Promise<void> {
  const dir = path.dirname(target);
  await fsp.mkdir(dir, { recursive: true });
  if (await exists(target)) {
    await fsp.rm(tmp, { force: true });
    return;
  }
  // Read-only blobs are a cheap guard against something editing them in place.
  await fsp.chmod(tmp, 0o444);
  try {
    await fsp.rename(tmp, target);
  } catch (err) {
    if (isErrno(err, 'ENOENT') && !(await exists(tmp))) {
      throw new WharfError('CANCELLED', `partial write ${tmp} was removed before it completed`, { cause: err });
    }
    throw err;
  }
  if (!opts.transient) await fsyncDir(dir);
}
