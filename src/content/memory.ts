import type { Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { WharfError } from '../errors/index.js';
import {
  Digester,
  algorithmOf,
  createHash,
  digestOf,
  parseDigest,
  type Algorithm,
  type Digest,
} from '../digest/index.js';
import type { BlobInfo, ContentStore, ContentWriter, Expected, IngestStatus } from './types.js';
import { alreadyStored, checkExpected, verifyAgainst, what } from './expected.js';

/** Chunks handed to readers, as a file stream would. */
const READ_CHUNK = 64 * 1024;

interface MemoryIngest {
  ref: string;
  chunks: Buffer[];
  size: number;
  total?: number;
  startedAt: Date;
  updatedAt: Date;
  /** A writer holds the ref (one writer per ref, as the local store's lock file). */
  held: boolean;
}

/**
 * What a MemoryContentStore holds. Two stores over one state behave as two processes sharing one local store
 * (one writer per ref across them, blobs visible to both).
 */
export interface MemoryContentState {
  blobs: Map<Digest, Buffer>;
  ingests: Map<string, MemoryIngest>;
}

export function memoryContentState(): MemoryContentState {
  return { blobs: new Map(), ingests: new Map() };
}

/**
 * The content store in memory: the reference semantics of ContentStore without a filesystem (the shared suite runs
 * against it and LocalContentStore alike), for embedding and for tests of the layers above. Bytes are copied in and
 * out, so a caller reusing its buffers cannot change a stored blob.
 */
export class MemoryContentStore implements ContentStore {
  readonly #state: MemoryContentState;

  constructor(state: MemoryContentState = memoryContentState()) {
    this.#state = state;
  }

  async info(d: Digest): Promise<BlobInfo | undefined> {
    const b = this.#state.blobs.get(parseDigest(d));
    return b ? { digest: d, size: b.length } : undefined;
  }

  async read(d: Digest, opts: { start?: number } = {}): Promise<Readable> {
    const start = opts.start ?? 0;
    if (!Number.isSafeInteger(start) || start < 0)
      throw new WharfError('INVALID_ARGUMENT', `invalid read offset ${start} for ${d}`);
    const b = this.#blob(d);
    if (start > b.length)
      throw new WharfError('INVALID_ARGUMENT', `read offset ${start} is past the end of ${d} (${b.length} bytes)`);
    return Readable.from(chunksOf(b, start));
  }

  async readAll(d: Digest, maxBytes: number): Promise<Buffer> {
    const b = this.#blob(d);
    if (b.length > maxBytes)
      throw new WharfError('TOO_LARGE', `blob ${d} has ${b.length} bytes, more than the ${maxBytes} allowed here`);
    const got = digestOf(b, algorithmOf(d));
    if (got !== d) throw new WharfError('DIGEST_MISMATCH', `blob ${d} in memory is corrupt: its bytes hash to ${got}`);
    return Buffer.from(b);
  }

  async write(src: Readable, expected: Expected = {}): Promise<BlobInfo> {
    const have = await alreadyStored(this, src, expected);
    if (have) return have;
    const digester = new Digester(expected.digest ? algorithmOf(expected.digest) : 'sha256');
    const chunks: Buffer[] = [];
    for await (const chunk of src) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
      digester.update(buf);
      if (expected.size !== undefined && digester.size > expected.size) {
        throw new WharfError(
          'SIZE_MISMATCH',
          `content${what(expected)} is larger than the expected ${expected.size} bytes`,
        );
      }
      chunks.push(buf);
    }
    const got: BlobInfo = { digest: digester.digest(), size: digester.size };
    verifyAgainst(got, expected);
    this.#publish(got.digest, Buffer.concat(chunks));
    return got;
  }

  async writeBuffer(data: Uint8Array, expected: Expected = {}): Promise<BlobInfo> {
    checkExpected(expected);
    const got: BlobInfo = {
      digest: digestOf(data, expected.digest ? algorithmOf(expected.digest) : 'sha256'),
      size: data.length,
    };
    verifyAgainst(got, expected);
    this.#publish(got.digest, Buffer.from(data));
    return got;
  }

  async delete(d: Digest): Promise<void> {
    if (!this.#state.blobs.delete(parseDigest(d))) throw new WharfError('NOT_FOUND', `blob ${d} not found in memory`);
  }

  async *walk(): AsyncIterable<BlobInfo> {
    const digests = [...this.#state.blobs.keys()].sort();
    for (const d of digests) {
      const b = this.#state.blobs.get(d);
      if (b) yield { digest: d, size: b.length }; // deleted while we walked otherwise
    }
  }

  async verify(d: Digest): Promise<boolean> {
    return digestOf(this.#blob(d), algorithmOf(d)) === d;
  }

  async sweepIngests(olderThanMs: number): Promise<number> {
    // One-shot writes keep their bytes in the writing call until they are verified: nothing of theirs to sweep.
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const [ref, ing] of this.#state.ingests) {
      if (ing.held || ing.updatedAt.getTime() > cutoff) continue;
      this.#state.ingests.delete(ref);
      removed++;
    }
    return removed;
  }

  async writer(ref: string, expected: Expected = {}): Promise<ContentWriter> {
    checkExpected(expected);
    if (ref === '') throw new WharfError('INVALID_ARGUMENT', 'an ingest ref must not be empty');
    if (expected.digest && (await this.info(expected.digest))) {
      throw new WharfError(
        'ALREADY_EXISTS',
        `blob ${expected.digest} already exists (ingest ref ${JSON.stringify(ref)})`,
      );
    }
    let ing = this.#state.ingests.get(ref);
    if (ing?.held) throw new WharfError('UNAVAILABLE', `partial write for ref ${JSON.stringify(ref)} is in use`);
    if (!ing) {
      const now = new Date();
      ing = { ref, chunks: [], size: 0, startedAt: now, updatedAt: now, held: false };
      this.#state.ingests.set(ref, ing);
    }
    ing.held = true;
    if (expected.size !== undefined) ing.total = expected.size;
    return new MemoryContentWriter(ing, expected.digest ? algorithmOf(expected.digest) : 'sha256', expected, {
      publish: (d, data) => this.#publish(d, data),
      drop: () => {
        if (this.#state.ingests.get(ref) === ing) this.#state.ingests.delete(ref);
      },
    });
  }

  async status(ref: string): Promise<IngestStatus | undefined> {
    const ing = this.#state.ingests.get(ref);
    return ing ? statusOf(ing) : undefined;
  }

  async listIngests(): Promise<IngestStatus[]> {
    return [...this.#state.ingests.values()].sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0)).map(statusOf);
  }

  async abort(ref: string): Promise<void> {
    const ing = this.#state.ingests.get(ref);
    if (!ing) throw new WharfError('NOT_FOUND', `no partial write for ref ${JSON.stringify(ref)}`);
    if (ing.held) throw new WharfError('UNAVAILABLE', `partial write for ref ${JSON.stringify(ref)} is in use`);
    this.#state.ingests.delete(ref);
  }

  #blob(d: Digest): Buffer {
    const b = this.#state.blobs.get(parseDigest(d));
    if (!b) throw new WharfError('NOT_FOUND', `blob ${d} not found in memory`);
    return b;
  }

  // A blob that is already there wins, as in the local store: its bytes are the same by construction.
  #publish(d: Digest, data: Buffer): void {
    if (!this.#state.blobs.has(d)) this.#state.blobs.set(d, data);
  }
}

function* chunksOf(b: Buffer, start: number): Iterable<Buffer> {
  if (start === b.length) return;
  for (let i = start; i < b.length; i += READ_CHUNK)
    yield Buffer.from(b.subarray(i, Math.min(b.length, i + READ_CHUNK)));
}

function statusOf(ing: MemoryIngest): IngestStatus {
  return {
    ref: ing.ref,
    offset: ing.size,
    ...(ing.total !== undefined ? { total: ing.total } : {}),
    startedAt: ing.startedAt,
    updatedAt: ing.updatedAt,
  };
}

class MemoryContentWriter implements ContentWriter {
  #hash: Hash;
  #open = true;

  constructor(
    private readonly ing: MemoryIngest,
    private readonly alg: Algorithm,
    private readonly expected: Expected,
    private readonly store: { publish(d: Digest, data: Buffer): void; drop(): void },
  ) {
    // Resuming needs the hash state of the bytes already there, as the local store does.
    this.#hash = createHash(alg);
    for (const c of ing.chunks) this.#hash.update(c);
  }

  get ref(): string {
    return this.ing.ref;
  }

  get offset(): number {
    return this.ing.size;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#check();
    if (this.expected.size !== undefined && this.ing.size + chunk.length > this.expected.size) {
      throw new WharfError(
        'SIZE_MISMATCH',
        `content${what(this.expected)} is larger than the expected ${this.expected.size} bytes`,
      );
    }
    const copy = Buffer.from(chunk);
    this.ing.chunks.push(copy);
    this.ing.size += copy.length;
    this.#hash.update(copy);
    this.ing.updatedAt = new Date();
  }

  async writeChunks(chunks: readonly Uint8Array[]): Promise<void> {
    for (const c of chunks) await this.write(c);
  }

  async writeStream(src: Readable): Promise<void> {
    for await (const chunk of src)
      await this.write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array));
  }

  digest(): Digest {
    return `${this.alg}:${this.#hash.copy().digest('hex')}` as Digest;
  }

  async truncate(): Promise<void> {
    this.#check();
    this.ing.chunks = [];
    this.ing.size = 0;
    this.#hash = createHash(this.alg);
    this.ing.updatedAt = new Date();
  }

  async commit(expected: Expected = {}): Promise<BlobInfo> {
    this.#check();
    this.#open = false;
    this.ing.held = false;
    const got: BlobInfo = { digest: this.digest(), size: this.ing.size };
    // Bytes that do not match can never become the blob: resuming them would only fail again, so they go either way.
    this.store.drop();
    const merged: Expected = { ...this.expected };
    if (expected.digest !== undefined) merged.digest = expected.digest;
    if (expected.size !== undefined) merged.size = expected.size;
    verifyAgainst(got, merged);
    this.store.publish(got.digest, Buffer.concat(this.ing.chunks));
    return got;
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    this.ing.held = false;
  }

  #check(): void {
    if (!this.#open)
      throw new WharfError('FAILED_PRECONDITION', `writer for ref ${JSON.stringify(this.ing.ref)} is closed`);
  }
}
