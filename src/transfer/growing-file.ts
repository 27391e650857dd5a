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

  /**
   * The file's first `size` bytes as they arrive, 1 MiB at a time (one reader at a time). A Readable of its own
   * rather than Readable.from(async generator): destroying that waits for the generator to reach its next yield,
   * i.e. for the download's next bytes, so an unpack that failed would wait on a stalled download.
   */
  reader(size: number): Readable {
    let pos = 0;
    let pumping = false;
    let stopped = false;
    const pump = async (): Promise<void> => {
      if (pumping) return;
      pumping = true;
      try {
        for (;;) {
          if (stopped) return;
          if (pos >= size) {
            out.push(null);
            return;
          }
          if (this.#error) throw this.#error;
          const fh = this.#fh;
          if (!fh) throw new WharfError('CANCELLED', 'the download was closed before it was read');
          const avail = Math.min(this.#written, size) - pos;
          if (avail > 0) {
            const buf = Buffer.allocUnsafe(Math.min(avail, READ_CHUNK));
            const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
            if (bytesRead === 0) throw new WharfError('INTERNAL', `the download's file ends at ${pos} bytes`);
            pos += bytesRead;
            if (stopped) return;
            if (!out.push(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead))) return;
            continue;
          }
          if (this.#ended)
            throw new WharfError('SIZE_MISMATCH', `the download ended at ${this.#written} of ${size} bytes`);
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
        }
      } catch (err) {
        out.destroy(err as Error);
      } finally {
        pumping = false;
      }
    };
    const out = new Readable({
      highWaterMark: READ_CHUNK,
      read: () => void pump(),
      destroy: (err, cb) => {
        stopped = true;
        this.#notify();
        cb(err);
      },
    });
    return out;
  }

  async close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    this.fail(new WharfError('CANCELLED', 'the download was closed'));
    await fh?.close();
  }
}
