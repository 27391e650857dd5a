import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { WharfError } from '../errors/index.js';

const READ_CHUNK = 1 << 20;

/**
 * A file another task is appending to (a layer's download landing in its ingest), readable from its start while it
 * grows: a pull unpacks the layer from it as the bytes arrive instead of after the download. The reader goes no
 * further than the writer has reported written, and waits for more; the writer is never held back by it (the bytes
 * are on disk already, so neither side buffers a layer in memory, and a download runs ahead of a slower unpack).
 * The file is read through a descriptor of its own, opened before the download commits: the commit renames the file
 * into the blob store, and a later delete of the blob unlinks it, neither of which a held descriptor notices.
 */
export class GrowingFile {
  #written: number;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  #fh: FileHandle | undefined;

  private constructor(fh: FileHandle, written: number) {
    this.#fh = fh;
    this.#written = written;
  }

  /** `written`: the bytes already in the file (a resumed ingest's). */
  static async open(file: string, written: number): Promise<GrowingFile> {
    return new GrowingFile(await fsp.open(file, 'r'), written);
  }

  /** The writer's report: the file now holds `written` bytes. */
  grew(written: number): void {
    this.#written = written;
    this.#notify();
  }

  /** The writer finished and verified what it wrote. */
  finish(): void {
    this.#ended = true;
    this.#notify();
  }

  /** The writer failed: a reader waiting for more fails with the same error. */
  fail(err: Error): void {
    this.#error ??= err;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** The file's first `size` bytes as they arrive, 1 MiB at a time (one reader at a time). */
  reader(size: number): Readable {
    const self = this;
    async function* chunks(): AsyncGenerator<Buffer> {
      let pos = 0;
      while (pos < size) {
        if (self.#error) throw self.#error;
        const fh = self.#fh;
        if (!fh) throw new WharfError('CANCELLED', 'the download was closed before it was read');
        const avail = Math.min(self.#written, size) - pos;
        if (avail > 0) {
          const buf = Buffer.allocUnsafe(Math.min(avail, READ_CHUNK));
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) throw new WharfError('INTERNAL', `the download's file ends at ${pos} bytes`);
          pos += bytesRead;
          yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
          continue;
        }
        if (self.#ended)
          throw new WharfError('SIZE_MISMATCH', `the download ended at ${self.#written} of ${size} bytes`);
        await new Promise<void>((resolve) => {
          self.#wake = resolve;
        });
      }
    }
    return Readable.from(chunks(), { objectMode: false, highWaterMark: READ_CHUNK });
  }

  async close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    this.fail(new WharfError('CANCELLED', 'the download was closed'));
    await fh?.close();
  }
}
