import { Readable } from 'node:stream';
import { WharfError } from '../../errors/index.js';
import type { BlobDriver, BlobWriter } from './driver.js';
import { checkStoragePath } from './paths.js';

interface MemoryObject {
  /** Appended chunks (copies): appending never re-copies what is there. */
  chunks: Buffer[];
  size: number;
  modified: Date;
}

/**
 * BlobDriver in memory: the reference semantics of a driver without files (the shared suite runs against it and the
 * filesystem driver alike; an object-store driver behaves like it, streaming rather than naming local files). Bytes
 * written are visible to readers at once, as appended bytes of a file are; `move` is atomic.
 */
export class MemoryDriver implements BlobDriver {
  readonly name = 'inmemory';
  readonly #objects = new Map<string, MemoryObject>();

  async stat(p: string): Promise<{ size: number; modified: Date } | undefined> {
    const o = this.#objects.get(checkStoragePath(p));
    return o ? { size: o.size, modified: new Date(o.modified) } : undefined;
  }

  async reader(p: string, offset = 0, length?: number): Promise<Readable> {
    const o = this.#objects.get(checkStoragePath(p));
    if (!o) throw new WharfError('NOT_FOUND', `storage path ${p} does not exist`);
    const end = length === undefined ? o.size : Math.min(o.size, offset + length);
    return Readable.from(slices(o.chunks.slice(), offset, end));
  }

  async writer(p: string, append: boolean): Promise<BlobWriter> {
    const key = checkStoragePath(p);
    const existing = this.#objects.get(key);
    const o: MemoryObject = append && existing ? existing : { chunks: [], size: 0, modified: new Date() };
    this.#objects.set(key, o);
    let closed = false;
    const objects = this.#objects;
    const live = () => !closed && objects.get(key) === o; // a move or delete takes the object away from the writer
    return {
      get size() {
        return o.size;
      },
      async write(chunk: Buffer) {
        if (closed) throw new WharfError('FAILED_PRECONDITION', `writer of ${p} is closed`);
        if (!live()) return;
        o.chunks.push(Buffer.from(chunk));
        o.size += chunk.length;
        o.modified = new Date();
      },
      async commit() {
        closed = true;
      },
      async close() {
        closed = true;
      },
      async cancel() {
        const mine = objects.get(key) === o;
        closed = true;
        if (mine) objects.delete(key);
      },
    };
  }

  async move(from: string, to: string): Promise<void> {
    const src = checkStoragePath(from);
    const dst = checkStoragePath(to);
    const o = this.#objects.get(src);
    if (!o) throw new WharfError('NOT_FOUND', `storage path ${from} does not exist`);
    this.#objects.delete(src);
    this.#objects.set(dst, o);
  }

  async delete(p: string): Promise<void> {
    const key = checkStoragePath(p);
    this.#objects.delete(key);
    for (const k of [...this.#objects.keys()]) if (k.startsWith(`${key}/`)) this.#objects.delete(k);
  }

  async *list(prefix: string): AsyncIterable<string> {
    const base = `${prefix.replace(/\/+$/, '')}/`;
    for (const k of [...this.#objects.keys()]) if (k.startsWith(base)) yield k;
  }
}

function* slices(chunks: Buffer[], start: number, end: number): Iterable<Buffer> {
  let pos = 0;
  for (const c of chunks) {
    const from = Math.max(start, pos);
    const to = Math.min(end, pos + c.length);
    if (from < to) yield c.subarray(from - pos, to - pos);
    pos += c.length;
    if (pos >= end) return;
  }
}
