import { promises as fsp, statfsSync } from 'node:fs';
import { WharfError, isDiskFull, isErrno } from '../../errors/index.js';

/**
 * Space kept back for the operations that free space. On a full disk even a DELETE writes: SQLite appends the pages
 * it changes to its WAL, GC records what it removes. So the registry keeps a preallocated file (`storage.reserve`,
 * default 8 MiB) on the disk of its root; when a freeing operation (DELETE of an upload, a manifest or a blob, GC,
 * the upload purge) fails for want of space, the file is removed and the operation runs again. It is made again once
 * there is room for it and then some, so that a nearly full disk is not filled by the reserve itself.
 */
export class SpaceReserve {
  constructor(
    readonly file: string,
    readonly bytes: number,
  ) {}

  /** Make the file if it is missing and the disk has room for it (four times its size free); true if it is there. */
  async fill(): Promise<boolean> {
    if (this.bytes <= 0) return false;
    const st = await fsp.stat(this.file).catch(() => undefined);
    if (st?.size === this.bytes) return true;
    if (!st) {
      try {
        const fs = statfsSync(this.file.slice(0, this.file.lastIndexOf('/')) || '/');
        if (fs.bavail * fs.bsize < 4 * this.bytes) return false;
      } catch {
        return false;
      }
    }
    const tmp = `${this.file}.tmp-${process.pid}`;
    try {
      const fh = await fsp.open(tmp, 'w', 0o600);
      try {
        // Real blocks, not a sparse file: the point is that they are allocated now.
        const chunk = Buffer.alloc(Math.min(this.bytes, 1 << 20));
        for (let done = 0; done < this.bytes; done += chunk.length)
          await fh.write(chunk, 0, Math.min(chunk.length, this.bytes - done));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, this.file);
      return true;
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      if (isDiskFull(err)) return false;
      throw err;
    }
  }

  /** Give the space back; false when there was none to give (the file was gone already). */
  async release(): Promise<boolean> {
    try {
      await fsp.unlink(this.file);
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    }
  }
}

/**
 * Whether `err` means the disk is full: ENOSPC/EDQUOT from the file system, SQLITE_FULL from the index, or an error
 * caused by one of those.
 */
export function isNoSpace(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (isDiskFull(e)) return true;
    const code = (e as { code?: unknown }).code;
    if (code === 'SQLITE_FULL') return true;
    if (e instanceof WharfError && /no space left on device|database or disk is full/.test(e.message)) return true;
  }
  return false;
}
