import { createReadStream, promises as fsp, constants, type Dirent } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { once } from 'node:events';
import { WharfError, isErrno } from '../../errors/index.js';
import { fsyncDir, writevFully } from '../../util/index.js';
import type { BlobDriver, BlobWriter } from './driver.js';
import { checkStoragePath } from './paths.js';

const READ_CHUNK = 1024 * 1024;
const WRITE_BATCH = 1024 * 1024;
// Every this many bytes written, a datasync starts in the background (one at a time): the disk then writes while the
// network delivers, and commit's fsync has only the tail left instead of the whole object.
const SYNC_BEHIND = 8 * 1024 * 1024;

/** BlobDriver on a local directory. Paths are validated so that no request can reach outside the root. */
export class FilesystemDriver implements BlobDriver {
  readonly name = 'filesystem';
  constructor(readonly root: string) {}

  #resolve(p: string): string {
    return path.join(this.root, checkStoragePath(p));
  }

  localPath(p: string): string {
    return this.#resolve(p);
  }

  async stat(p: string): Promise<{ size: number; modified: Date } | undefined> {
    try {
      const st = await fsp.stat(this.#resolve(p));
      return st.isFile() ? { size: st.size, modified: st.mtime } : undefined;
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
      throw err;
    }
  }

  async reader(p: string, offset = 0, length?: number): Promise<Readable> {
    const file = this.#resolve(p);
    if (length === 0) {
      if (!(await this.stat(p))) throw new WharfError('NOT_FOUND', `storage path ${p} does not exist`);
      return Readable.from([]);
    }
    // A path, not a FileHandle: the stream then reads with plain fds, about twice as fast as FileHandle.read.
    const stream = createReadStream(file, {
      start: offset,
      ...(length !== undefined ? { end: offset + length - 1 } : {}),
      highWaterMark: READ_CHUNK,
    });
    try {
      await once(stream, 'ready');
    } catch (err) {
      stream.destroy();
      if (isErrno(err, 'ENOENT')) throw new WharfError('NOT_FOUND', `storage path ${p} does not exist`);
      throw err;
    }
    return stream;
  }

  async writer(p: string, append: boolean): Promise<BlobWriter> {
    const file = this.#resolve(p);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const fh = await fsp.open(file, append ? constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND : 'w');
    const st = await fh.stat();
    let size = st.size;
    let closed = false;
    // Network chunks are small (16–64 KiB); batching them into one writev per MiB halves the cost of an upload.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let unsynced = 0;
    let syncing: Promise<void> | undefined;
    let syncError: unknown;
    const flush = async () => {
      const bufs = pending;
      pending = [];
      pendingBytes = 0;
      unsynced += await writevFully(fh, bufs);
      if (unsynced >= SYNC_BEHIND && !syncing) {
        unsynced = 0;
        syncing = fh.datasync().then(
          () => {
            syncing = undefined;
          },
          (err: unknown) => {
            syncError ??= err;
            syncing = undefined;
          },
        );
      }
    };
    const close = async () => {
      if (closed) return;
      closed = true;
      try {
        await flush();
      } finally {
        await syncing;
        await fh.close();
      }
    };
    return {
      get size() {
        return size;
      },
      async write(chunk: Buffer) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        size += chunk.length;
        if (pendingBytes >= WRITE_BATCH) await flush();
      },
      async commit() {
        await flush();
        await syncing;
        if (syncError !== undefined) throw syncError;
        await fh.sync();
        await close();
      },
      close,
      async cancel() {
        pending = [];
        await close();
        await fsp.rm(file, { force: true });
      },
    };
  }

  async move(from: string, to: string): Promise<void> {
    const src = this.#resolve(from);
    const dst = this.#resolve(to);
    await fsp.mkdir(path.dirname(dst), { recursive: true });
    try {
      await fsp.rename(src, dst);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new WharfError('NOT_FOUND', `storage path ${from} does not exist`);
      throw err;
    }
    await fsyncDir(path.dirname(dst));
  }

  async delete(p: string): Promise<void> {
    await fsp.rm(this.#resolve(p), { recursive: true, force: true });
  }

  async *list(prefix: string): AsyncIterable<string> {
    const base = prefix.replace(/\/+$/, '');
    const walk = async function* (this: FilesystemDriver, rel: string): AsyncIterable<string> {
      let entries: Dirent[];
      try {
        entries = await fsp.readdir(this.#resolve(rel), { withFileTypes: true });
      } catch (err) {
        if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return;
        throw err;
      }
      for (const e of entries) {
        const child = `${rel}/${e.name}`;
        if (e.isDirectory()) yield* walk.call(this, child);
        else if (e.isFile()) yield child;
      }
    };
    yield* walk.call(this, base);
  }
}
