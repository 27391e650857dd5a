import { createHash, randomUUID, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { WharfError } from '../errors/index.js';
import { testPauseMidStream, testPausePoint } from '../util/index.js';
import { algorithmOf, type Digest } from '../digest/index.js';
import type { BlobDriver } from './storage/driver.js';
import { blobPath, uploadPath } from './storage/paths.js';
import type { RegistryIndex, UploadRecord } from './metadata/index.js';
import { isNoSpace, type SpaceReserve } from './storage/reserve.js';

export interface StoreOptions {
  /**
   * How long a freshly uploaded or mounted blob stays leased: the window in which the client is expected to push the
   * manifest that refers to it. GC never removes a leased blob; the lease ends early when that manifest arrives.
   */
  blobLeaseMs: number;
  /** Space kept back for the operations that free space (storage/reserve.ts); none without it. */
  reserve?: SpaceReserve;
}

interface UploadHash {
  hash: Hash;
  size: number;
}

/**
 * Running hashes kept per process. A session continued or finished by another process (cluster workers take
 * connections in turn) leaves its entry here; the oldest go beyond this many, costing at worst one re-read.
 */
const MAX_RUNNING_HASHES = 1024;

/**
 * Blobs and upload sessions: bytes through the BlobDriver, facts through the RegistryIndex. Uploads are hashed while
 * they stream in, verified at the end, and made visible by a single move, so a blob is never half-visible.
 */
export class RegistryStore {
  // Running hashes of upload sessions appended to by this process, oldest first. The digest of the bytes so far also
  // goes to the index after each append, so another process (or this one after a restart) can finish the upload
  // without reading the data again; only when neither matches the data's size is the file hashed at the end.
  readonly #hashes = new Map<string, UploadHash>();
  readonly #locks = new Map<string, Promise<unknown>>();
  #inflight = 0;
  #idle: Array<() => void> = [];

  constructor(
    readonly driver: BlobDriver,
    readonly index: RegistryIndex,
    readonly options: StoreOptions,
  ) {}

  /** Resolves when no upload request is being processed (for graceful shutdown). */
  async idle(): Promise<void> {
    if (this.#inflight === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  // Serializes requests on one upload session, and counts them so shutdown can wait.
  async #withUpload<T>(id: string, fn: () => Promise<T>): Promise<T> {
    this.#inflight++;
    const prev = this.#locks.get(id) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.#locks.set(id, next);
    try {
      return await next;
    } finally {
      if (this.#locks.get(id) === next) this.#locks.delete(id);
      if (--this.#inflight === 0) for (const r of this.#idle.splice(0)) r();
    }
  }

  async blobInRepo(repo: string, d: Digest): Promise<{ size: number } | undefined> {
    return this.index.blobs.linked(repo, d);
  }

  async readBlob(d: Digest, offset?: number, length?: number): Promise<Readable> {
    return this.driver.reader(blobPath(d), offset, length);
  }

  /** The local file of a blob when the driver keeps blobs in files (see BlobDriver.localPath), else undefined. */
  blobFile(d: Digest): string | undefined {
    return this.driver.localPath?.(blobPath(d));
  }

  /** Where a client may fetch a blob directly (see BlobDriver.redirectURL), else undefined. */
  async blobRedirectURL(d: Digest): Promise<string | undefined> {
    return this.driver.redirectURL?.(blobPath(d));
  }

  async startUpload(repo: string): Promise<UploadRecord & { size: number }> {
    const id = randomUUID();
    const w = await this.driver.writer(uploadPath(id), false);
    await w.close();
    const now = new Date();
    await this.index.uploads.create({ id, repo, startedAt: now });
    return { id, repo, startedAt: now, updatedAt: now, size: 0 };
  }

  async #session(repo: string, id: string): Promise<UploadRecord> {
    const u = await this.index.uploads.get(id);
    if (!u || u.repo !== repo)
      throw new WharfError('NOT_FOUND', `upload ${id} is not known in ${repo}`, { details: { upload: true } });
    return u;
  }

  async uploadStatus(repo: string, id: string): Promise<{ size: number }> {
    await this.#session(repo, id);
    const st = await this.driver.stat(uploadPath(id));
    if (!st) throw new WharfError('NOT_FOUND', `upload ${id} has no data`, { details: { upload: true } });
    return { size: st.size };
  }

  /**
   * Appends a chunk. `start`, when the client sent Content-Range, must equal the current size (chunks in order);
   * otherwise CONFLICT with `details.size`. Bytes received before a disconnect stay, so the session can resume.
   */
  async appendUpload(
    repo: string,
    id: string,
    body: Readable,
    start?: number,
    length?: number,
  ): Promise<{ size: number }> {
    return this.#withUpload(id, async () => {
      await this.#session(repo, id);
      return { size: await this.#append(id, body, start, length) };
    });
  }

  async #append(id: string, body: Readable, start?: number, length?: number): Promise<number> {
    const w = await this.driver.writer(uploadPath(id), true);
    let ok = false;
    let h: UploadHash | undefined;
    try {
      if (start !== undefined && start !== w.size) {
        body.resume();
        throw new WharfError('CONFLICT', `upload ${id} is at offset ${w.size}, chunk starts at ${start}`, {
          details: { size: w.size },
        });
      }
      h = this.#hashes.get(id);
      this.#hashes.delete(id);
      if (h && h.size !== w.size) h = undefined; // another process appended meanwhile
      // An empty session's hash is a fresh one, whichever process started the session.
      if (!h && w.size === 0) h = { hash: createHash('sha256'), size: 0 };
      if (h) {
        this.#hashes.set(id, h); // to the young end
        if (this.#hashes.size > MAX_RUNNING_HASHES) this.#hashes.delete(this.#hashes.keys().next().value!);
      }
      let received = 0;
      try {
        // Fault tests stop the server here, with part of the chunk written (test/faults/registry-upload.test.ts).
        for await (const chunk of testPauseMidStream(body, 'registry:upload-append', 256 * 1024)) {
          const b = chunk as Buffer;
          await w.write(b);
          received += b.length;
          if (h) {
            h.hash.update(b);
            h.size += b.length;
          }
        }
      } catch (err) {
        // The storage failing (an object store down: UNAVAILABLE → 503) is not the client going away.
        if (err instanceof WharfError && err.code === 'UNAVAILABLE') throw err;
        throw new WharfError('CANCELLED', `upload ${id}: the client went away after ${received} bytes`, { cause: err });
      }
      if (length !== undefined && received !== length) {
        throw new WharfError(
          'SIZE_MISMATCH',
          `upload ${id}: chunk has ${received} bytes, Content-Range said ${length}`,
        );
      }
      ok = true;
    } finally {
      // Keep what arrived: it is either a valid prefix to resume from, or gets purged with the session.
      let durable = true;
      await w.commit().catch(() => {
        durable = false;
        return w.close();
      });
      // Once the bytes are durable, what they hash to goes to the index for whichever process finishes the upload.
      const hashed =
        ok && durable && h && h.size === w.size && w.size > 0
          ? { size: h.size, digest: `sha256:${h.hash.copy().digest('hex')}` as Digest }
          : undefined;
      await this.index.uploads.touch(id, new Date(), hashed).catch(() => undefined);
      if (!ok) this.#hashes.delete(id);
    }
    return w.size;
  }

  /** Appends the last chunk (if any), verifies the digest and moves the data into the blob store. */
  async finishUpload(repo: string, id: string, expected: Digest, body?: Readable): Promise<{ size: number }> {
    return this.#withUpload(id, async () => {
      await this.#session(repo, id);
      if (body) await this.#append(id, body);
      const st = await this.driver.stat(uploadPath(id));
      if (!st) throw new WharfError('NOT_FOUND', `upload ${id} has no data`, { details: { upload: true } });
      const got = await this.#digestOfUpload(id, expected, st.size);
      if (got !== expected) {
        await this.#dropUpload(id);
        throw new WharfError('DIGEST_MISMATCH', `upload ${id}: content has digest ${got}, not ${expected}`);
      }
      testPausePoint('registry:upload-before-commit');
      await this.#commit(repo, expected, uploadPath(id), st.size, `upload:${id}`);
      await this.index.uploads.delete(id);
      this.#hashes.delete(id);
      // The reserve given back on a full disk comes back once there is room (one stat while it is there).
      await this.options.reserve?.fill().catch(() => false);
      return { size: st.size };
    });
  }

  async #digestOfUpload(id: string, expected: Digest, size: number): Promise<string> {
    const alg = algorithmOf(expected);
    const h = this.#hashes.get(id);
    if (h && alg === 'sha256' && h.size === size) return `sha256:${h.hash.copy().digest('hex')}`;
    const recorded = alg === 'sha256' ? (await this.index.uploads.get(id))?.hashed : undefined;
    if (recorded && recorded.size === size) return recorded.digest;
    const hash = createHash(alg);
    for await (const chunk of await this.driver.reader(uploadPath(id))) hash.update(chunk as Buffer);
    return `${alg}:${hash.digest('hex')}`;
  }

  // Lease first (waiting out a GC deleting the same digest), then move, then record: a GC sees the lease or the row.
  async #commit(repo: string, d: Digest, from: string, size: number, leaseId: string): Promise<void> {
    await this.index.blobs.beginCommit(repo, d, leaseId, new Date(Date.now() + this.options.blobLeaseMs));
    await this.driver.move(from, blobPath(d));
    testPausePoint('registry:upload-after-move');
    await this.index.blobs.finishCommit(repo, d, size);
  }

  /**
   * Run an operation that frees space (a DELETE, GC, the upload purge). On a full disk it fails only for want of the
   * few pages its own bookkeeping writes: then the reserve is given back and it runs once more. Once it is done, the
   * reserve is made again if there is room for it.
   */
  async freeing<T>(fn: () => Promise<T>): Promise<T> {
    const reserve = this.options.reserve;
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      if (!reserve || !isNoSpace(err) || !(await reserve.release())) throw err;
      result = await fn();
    }
    await reserve?.fill().catch(() => false);
    return result;
  }

  async cancelUpload(repo: string, id: string): Promise<void> {
    await this.freeing(() =>
      this.#withUpload(id, async () => {
        await this.#session(repo, id);
        await this.#dropUpload(id);
      }),
    );
  }

  async #dropUpload(id: string): Promise<void> {
    this.#hashes.delete(id);
    await this.index.uploads.delete(id);
    await this.driver.delete(uploadPath(id));
  }

  /** Removes an upload session whatever its repository (purging); returns its size. */
  async purgeUpload(id: string): Promise<number> {
    return this.freeing(() =>
      this.#withUpload(id, async () => {
        const st = await this.driver.stat(uploadPath(id));
        await this.#dropUpload(id);
        return st?.size ?? 0;
      }),
    );
  }

  /** Links a blob already in the store to `repo` (cross-repository mount); false when it is not there. */
  async mount(repo: string, d: Digest): Promise<boolean> {
    return this.index.blobs.link(repo, d, `mount:${repo}:${d}`, new Date(Date.now() + this.options.blobLeaseMs));
  }
}
