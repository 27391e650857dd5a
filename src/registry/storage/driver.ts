import type { Readable } from 'node:stream';

/**
 * A plain byte store addressed by slash-separated relative paths. It knows nothing of digests, repositories or GC
 * (those live in the blob store and the index), so an object-store driver (S3) can implement it with the same semantics:
 * `writer().commit()` makes the bytes durable, `move()` is the only way a path appears atomically under its final name.
 */
export interface BlobDriver {
  readonly name: string;
  stat(path: string): Promise<{ size: number; modified: Date } | undefined>;
  /** Bytes from `offset` (default 0), `length` bytes or to the end. Throws NOT_FOUND when the path does not exist. */
  reader(path: string, offset?: number, length?: number): Promise<Readable>;
  /** Opens a writer; with `append` it continues an existing object (creating it when missing), else truncates. */
  writer(path: string, append: boolean): Promise<BlobWriter>;
  /** Atomically replaces `to` with `from`. */
  move(from: string, to: string): Promise<void>;
  /** Removes a path (a file, or everything under a prefix); absent paths are not an error. */
  delete(path: string): Promise<void>;
  /** Every object path below `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<string>;
  /**
   * The local file that holds a path, for drivers that keep objects in files (the server then sends it with
   * sendfile(2)); absent in drivers that do not (an object store streams through `reader`). The file may not exist.
   */
  localPath?(path: string): string;
  /**
   * A URL the client may fetch the object from directly (an object store's presigned GET), for a 307 instead of
   * streaming; absent or undefined when the driver does not offer one (or redirects are turned off).
   */
  redirectURL?(path: string): Promise<string | undefined>;
}

export interface BlobWriter {
  write(chunk: Buffer): Promise<void>;
  /** Flushes durably; the writer is closed afterwards. */
  commit(): Promise<void>;
  /** Closes without committing; the bytes written so far stay (an upload session may resume from them). */
  close(): Promise<void>;
  /** Closes and removes the object. */
  cancel(): Promise<void>;
  /** Total size of the object, including what existed before an append. */
  readonly size: number;
}
