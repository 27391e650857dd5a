import { closeSync, fstatSync, openSync, promises as fsp, readFileSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { WharfError, isErrno } from '../errors/index.js';
import {
  Digester,
  algorithmOf,
  digestOf,
  hexOf,
  isDigest,
  parseDigest,
  type Algorithm,
  type Digest,
} from '../digest/index.js';
import { randomHex } from '../util/index.js';
import type { BlobInfo, ContentStore, ContentWriter, Expected, IngestStatus } from './types.js';
import { publishBlob } from './publish.js';
import { pidAlive } from '../util/index.js';
import { IngestDirs } from './ingest.js';
import { alreadyStored, checkExpected, verifyAgainst, what } from './expected.js';

const ALGORITHMS: readonly Algorithm[] = ['sha256', 'sha512'];
// Plain writes stage here as `tmp-<pid>-<random>`; the PID lets a sweep tell a crashed writer from a live one.
const TMP_PREFIX = 'tmp-';

/**
 * The content store on a local filesystem: `<root>/blobs/<alg>/<hex>` (the OCI image-layout blob layout) with partial
 * writes staged in `<root>/ingest/`. Blobs are written to a temp file, synced, verified and renamed into place.
 */
export class LocalContentStore implements ContentStore {
  readonly blobsDir: string;
  readonly ingestDir: string;
  readonly #ingests: IngestDirs;

  constructor(readonly root: string) {
    this.blobsDir = path.join(root, 'blobs');
    this.ingestDir = path.join(root, 'ingest');
    this.#ingests = new IngestDirs(
      this.ingestDir,
      (d) => this.blobFile(d),
      (d) => this.info(d),
    );
  }

  /**
   * The file that holds a blob (it may not exist). Only this backend has one, so it is not part of ContentStore: a
   * caller that needs a file (to hardlink or sendfile it) must hold a LocalContentStore and say so in its type.
   */
  blobFile(d: Digest): string {
    const checked = parseDigest(d);
    return path.join(this.blobsDir, algorithmOf(checked), hexOf(checked));
  }

  async info(d: Digest): Promise<BlobInfo | undefined> {
    try {
      const st = await fsp.stat(this.blobFile(d));
      return { digest: d, size: st.size };
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  async read(d: Digest, opts: { start?: number } = {}): Promise<Readable> {
    const start = opts.start ?? 0;
    if (!Number.isSafeInteger(start) || start < 0)
      throw new WharfError('INVALID_ARGUMENT', `invalid read offset ${start} for ${d}`);
    const fh = await this.#open(d);
    try {
      const { size } = await fh.stat();
      if (start > size)
        throw new WharfError('INVALID_ARGUMENT', `read offset ${start} is past the end of ${d} (${size} bytes)`);
    } catch (err) {
      await fh.close();
      throw err;
    }
    // 1 MiB reads: blobs are read whole and sequentially (unpacking, pushing); 64 KiB reads cost many more syscalls.
    return fh.createReadStream({ start, highWaterMark: 1 << 20 });
  }

  async readAll(d: Digest, maxBytes: number): Promise<Buffer> {
    // Synchronous: these are small (configs, manifests, bounded by maxBytes), and the four thread-pool trips of an
    // async open/stat/read/close cost more than the read itself; an image config is read on every `run`.
    let fd: number;
    try {
      fd = openSync(this.blobFile(d), 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new WharfError('NOT_FOUND', `blob ${d} not found in ${this.blobsDir}`);
      throw err;
    }
    let data: Buffer;
    try {
      const { size } = fstatSync(fd);
      if (size > maxBytes)
        throw new WharfError('TOO_LARGE', `blob ${d} has ${size} bytes, more than the ${maxBytes} allowed here`);
      data = readFileSync(fd);
    } finally {
      closeSync(fd);
    }
    // Small blobs are parsed and trusted right away, so a corrupt one must not get that far.
    const got = digestOf(data, algorithmOf(d));
    if (got !== d)
      throw new WharfError('DIGEST_MISMATCH', `blob ${d} in ${this.blobsDir} is corrupt: its bytes hash to ${got}`);
    return data;
  }

  async write(src: Readable, expected: Expected = {}): Promise<BlobInfo> {
    const have = await alreadyStored(this, src, expected);
    if (have) return have;
    const alg = expected.digest ? algorithmOf(expected.digest) : 'sha256';
    const tmp = await this.#tempFile();
    let got: BlobInfo;
    try {
      const fh = await fsp.open(tmp, 'wx', 0o644);
      try {
        const digester = new Digester(alg);
        for await (const chunk of src) {
          const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
          digester.update(buf);
          // Stop early rather than store gigabytes that cannot match.
          if (expected.size !== undefined && digester.size > expected.size) {
            throw new WharfError(
              'SIZE_MISMATCH',
              `content${what(expected)} is larger than the expected ${expected.size} bytes`,
            );
          }
          await fh.write(buf);
        }
        await fh.sync();
        got = { digest: digester.digest(), size: digester.size };
      } finally {
        await fh.close();
      }
      verifyAgainst(got, expected);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    await publishBlob(tmp, this.blobFile(got.digest));
    return got;
  }

  async writeBuffer(data: Uint8Array, expected: Expected = {}): Promise<BlobInfo> {
    checkExpected(expected);
    const alg = expected.digest ? algorithmOf(expected.digest) : 'sha256';
    const got: BlobInfo = { digest: digestOf(data, alg), size: data.length };
    verifyAgainst(got, expected);
    const have = await this.info(got.digest);
    if (have) return have;
    const tmp = await this.#tempFile();
    try {
      const fh = await fsp.open(tmp, 'wx', 0o644);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    await publishBlob(tmp, this.blobFile(got.digest));
    return got;
  }

  async delete(d: Digest): Promise<void> {
    try {
      await fsp.unlink(this.blobFile(d));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new WharfError('NOT_FOUND', `blob ${d} not found in ${this.blobsDir}`);
      throw err;
    }
  }

  async *walk(): AsyncIterable<BlobInfo> {
    for (const alg of ALGORITHMS) {
      const dir = path.join(this.blobsDir, alg);
      let names: string[];
      try {
        names = await fsp.readdir(dir);
      } catch (err) {
        if (isErrno(err, 'ENOENT')) continue;
        throw err;
      }
      for (const name of names.sort()) {
        const d = `${alg}:${name}`;
        if (!isDigest(d)) continue;
        try {
          const st = await fsp.lstat(path.join(dir, name));
          if (st.isFile()) yield { digest: d, size: st.size };
        } catch (err) {
          // Deleted while we walked.
          if (!isErrno(err, 'ENOENT')) throw err;
        }
      }
    }
  }

  async verify(d: Digest): Promise<boolean> {
    const fh = await this.#open(d);
    const digester = new Digester(algorithmOf(d));
    for await (const chunk of fh.createReadStream()) digester.update(chunk as Buffer);
    return digester.digest() === d;
  }

  async sweepIngests(olderThanMs: number): Promise<number> {
    let names: string[];
    try {
      names = await fsp.readdir(this.ingestDir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return 0;
      throw err;
    }
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const name of names) {
      const p = path.join(this.ingestDir, name);
      let st: Stats;
      try {
        st = await fsp.lstat(p);
      } catch (err) {
        if (isErrno(err, 'ENOENT')) continue;
        throw err;
      }
      if (st.isDirectory()) {
        if (await this.#ingests.sweepOne(name, cutoff)) removed++;
        continue;
      }
      if (name.startsWith(TMP_PREFIX) && pidAlive(Number(name.split('-')[1]))) continue;
      if (st.mtimeMs > cutoff) continue;
      await fsp.rm(p, { force: true });
      removed++;
    }
    return removed;
  }

  writer(ref: string, expected: Expected = {}): Promise<ContentWriter> {
    checkExpected(expected);
    return this.#ingests.open(ref, expected);
  }

  status(ref: string): Promise<IngestStatus | undefined> {
    return this.#ingests.status(ref);
  }

  listIngests(): Promise<IngestStatus[]> {
    return this.#ingests.list();
  }

  abort(ref: string): Promise<void> {
    return this.#ingests.abort(ref);
  }

  async #open(d: Digest) {
    try {
      return await fsp.open(this.blobFile(d), 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new WharfError('NOT_FOUND', `blob ${d} not found in ${this.blobsDir}`);
      throw err;
    }
  }

  async #tempFile(): Promise<string> {
    await fsp.mkdir(this.ingestDir, { recursive: true });
    return path.join(this.ingestDir, `${TMP_PREFIX}${process.pid}-${randomHex(8)}`);
  }
}
