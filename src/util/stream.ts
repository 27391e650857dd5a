import { Transform, type Readable, type Writable, type TransformCallback } from 'node:stream';
import { once } from 'node:events';
import { WharfError } from '../errors/index.js';

/** Counts the bytes that pass through. */
export class CountingStream extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** Read a whole stream into memory, refusing more than `max` bytes. Only for manifests and configs. */
export async function readAllLimited(src: Readable, max: number, what = 'stream'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of src) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    total += b.length;
    if (total > max) {
      src.destroy();
      throw new WharfError('TOO_LARGE', `${what} is larger than ${max} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Drain a stream, discarding its data. */
export async function drain(src: Readable): Promise<void> {
  for await (const _ of src) {
    // discard
  }
}

/**
 * Feed one source into several consumers with backpressure: the source pauses until every consumer drained.
 * Returns when the source ended and every consumer finished; the first error from any side rejects.
 */
export async function teeInto(src: Readable, consumers: Writable[]): Promise<void> {
  const failed = new Promise<never>((_, reject) => {
    for (const c of consumers) c.once('error', reject);
  });
  failed.catch(() => {});
  const pump = async () => {
    for await (const chunk of src) {
      const waits: Promise<unknown>[] = [];
      for (const c of consumers) if (!c.write(chunk as Buffer)) waits.push(once(c, 'drain'));
      if (waits.length) await Promise.race([Promise.all(waits), failed]);
    }
    await Promise.all(consumers.map((c) => new Promise<void>((resolve) => c.end(resolve))));
  };
  try {
    await Promise.race([pump(), failed]);
  } catch (err) {
    src.destroy();
    for (const c of consumers) c.destroy(err as Error);
    throw err;
  }
}

/**
 * Back-pressure from sinks to one source: while any sink's buffer is full (`write()` returned false) the source is
 * paused, and it resumes when every blocked sink drained (or closed). Without it, a slow reader of the CLI's stdout
 * makes the CLI buffer all of a container's output in memory; with it, the CLI stops reading the monitor's socket
 * and the container blocks on its full pipe, as under Docker.
 */
export class FlowGate {
  readonly #blocked = new Set<Writable>();
  /** Reasons the source is paused: sinks whose buffer is full, and borrowed bytes not yet written. */
  #holds = 0;

  constructor(
    private readonly pause: () => void,
    private readonly resume: () => void,
  ) {}

  write(to: Writable | undefined, data: Buffer | string): void {
    if (!to || to.destroyed) return;
    if (to.write(data) || this.#blocked.has(to)) return;
    this.#blocked.add(to);
    const release = this.#hold();
    const ready = (): void => {
      to.off('drain', ready);
      to.off('close', ready);
      this.#blocked.delete(to);
      release();
    };
    to.on('drain', ready);
    to.on('close', ready);
  }

  /**
   * As write(), for bytes in a buffer the source reuses for its next read (a socket's `onread` buffer): when `to`
   * could not write them at once, the source stays paused until it has (its write callback), not only until its
   * buffer has room. Only for sinks done with a chunk when they call back (a file, pipe, socket or terminal; not a
   * PassThrough, which hands the chunk itself on).
   */
  writeBorrowed(to: Writable | undefined, data: Buffer): void {
    if (!to || to.destroyed) return;
    let release: (() => void) | undefined;
    const written = (): void => {
      to.off('close', written);
      release?.();
    };
    to.write(data, written);
    // The sink's count drops when the bytes are out of our buffer (a write done at once calls back a tick later).
    if (to.writableLength === 0) return;
    release = this.#hold();
    to.on('close', written);
  }

  #hold(): () => void {
    if (this.#holds++ === 0) this.pause();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.#holds === 0) this.resume();
    };
  }
}

/** Resolves once `to` can take more (at once if its buffer is not full); also when it closed or failed, or on `signal`. */
export function drained(to: Writable, signal?: AbortSignal): Promise<void> {
  if (!to.writableNeedDrain || to.destroyed || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      to.off('drain', done);
      to.off('close', done);
      to.off('error', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    to.on('drain', done);
    to.on('close', done);
    to.on('error', done);
    signal?.addEventListener('abort', done);
  });
}
