import type { Readable } from 'node:stream';
import type { Digest } from '../digest/index.js';

/** What the store knows about a blob: its digest and its size in bytes. */
export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** What a caller expects a write to produce; anything given is verified before the blob becomes visible. */
export interface Expected {
  digest?: Digest;
  size?: number;
}

/**
 * Reading blobs by digest (containerd's Provider + Info). A blob is visible only once its bytes are complete, synced
 * and verified, so a reader never sees a partial blob.
 */
export interface ContentProvider {
  info(d: Digest): Promise<BlobInfo | undefined>;
  /** A stream of the blob's bytes from `start` (default 0). NOT_FOUND if absent. */
  read(d: Digest, opts?: { start?: number }): Promise<Readable>;
  /** The whole blob, re-verified against its digest. For manifests and configs only: TOO_LARGE above `maxBytes`. */
  readAll(d: Digest, maxBytes: number): Promise<Buffer>;
}

/** Removing and checking what is stored (containerd's Manager, plus the sweep of abandoned partial writes). */
export interface ContentManager {
  /** NOT_FOUND if absent. */
  delete(d: Digest): Promise<void>;
  walk(): AsyncIterable<BlobInfo>;
  /** Re-hash the stored bytes: false when they no longer match the digest. NOT_FOUND if absent. */
  verify(d: Digest): Promise<boolean>;
  /** Remove partial writes untouched for `olderThanMs` whose writer is gone; returns how many were removed. */
  sweepIngests(olderThanMs: number): Promise<number>;
}

/**
 * A whole content store: reader, ingester and manager (a type, not a fourth interface: each piece stays small, and
 * consumers take the smallest of the three that does their job). Writes are idempotent by digest.
 */
export type ContentStore = ContentProvider & Ingester & ContentManager;

/** Progress of a resumable write. */
export interface IngestStatus {
  ref: string;
  /** Bytes written so far. */
  offset: number;
  /** The expected total, when the writer was told. */
  total?: number;
  startedAt: Date;
  updatedAt: Date;
}

export interface CommitOptions {
  /**
   * The blob is deleted again soon, and whoever commits it has noted it for deletion should it be killed or the
   * machine go down first (a pull's compressed layer, noted in its intent, dropped once unpacked): its bytes are not
   * forced to disk (no fsync of the file or of its directory), which would only write out what is about to go.
   */
  transient?: boolean;
}

/**
 * A resumable write keyed by a caller's ref (e.g. the layer digest of a pull). Only one writer per ref at a time,
 * across processes. `close()` keeps the bytes so that a later `writer(ref)` resumes at `offset`.
 */
export interface ContentWriter {
  readonly ref: string;
  /** Bytes in the ingest, including those written before a resume. */
  readonly offset: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Write several chunks at the current offset, in one system call where it can (no copy into one buffer). */
  writeChunks(chunks: readonly Uint8Array[]): Promise<void>;
  /** Write a whole stream at the current offset. */
  writeStream(src: Readable): Promise<void>;
  /** The digest of the bytes written so far. */
  digest(): Digest;
  /** Start over from zero bytes (when the source cannot resume from `offset`). */
  truncate(): Promise<void>;
  /** Verify against `expected` (and what the writer was opened with) and make the blob visible. */
  commit(expected?: Expected, opts?: CommitOptions): Promise<BlobInfo>;
  /** Release the writer, keeping the partial bytes for a later resume. */
  close(): Promise<void>;
}

/**
 * Adding content (containerd's Ingester + IngestManager): one-shot writes, and resumable writes keyed by a ref.
 */
export interface Ingester {
  /** Hash while streaming, verify (DIGEST_MISMATCH / SIZE_MISMATCH), then make the blob visible atomically. */
  write(src: Readable, expected?: Expected): Promise<BlobInfo>;
  writeBuffer(data: Uint8Array, expected?: Expected): Promise<BlobInfo>;
  /** ALREADY_EXISTS when `expected.digest` is already stored; UNAVAILABLE when another writer holds `ref`. */
  writer(ref: string, expected?: Expected): Promise<ContentWriter>;
  status(ref: string): Promise<IngestStatus | undefined>;
  listIngests(): Promise<IngestStatus[]>;
  /** Drop a partial write. NOT_FOUND if there is none; UNAVAILABLE while a writer holds it. */
  abort(ref: string): Promise<void>;
}
