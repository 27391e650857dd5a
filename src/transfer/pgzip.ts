import type * as Os from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import type * as Zlib from 'node:zlib';
import { lazyBuiltin } from '../util/index.js';
import type { ZlibOptions } from 'node:zlib';

const zlib = lazyBuiltin<typeof Zlib>('node:zlib');
const os = lazyBuiltin<typeof Os>('node:os');

/**
 * CRC-32 of the gzip trailer. zlib's own (Node >= 20.15 exposes it) runs at memory speed; the table loop in
 * JavaScript it replaces cost ~1 ns a byte, a third of a push's CPU time on one core.
 */
function crc32Update(crc: number, buf: Uint8Array): number {
  return zlib().crc32(buf, crc);
}

const DICT_SIZE = 32 * 1024;
// A fixed gzip header (no name, mtime 0, OS "unknown") so the output depends on the input and settings only.
const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff]);

function deflateBlock(data: Buffer, opts: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    zlib().deflateRaw(data, opts, (err, out) => (err ? reject(err) : resolve(out))),
  );
}

/** The size of each of the three probes of a block that decide whether deflating it is worth it. */
const PROBE_BYTES = 8 * 1024;

/**
 * Whether a block looks incompressible (random or already compressed data): probes at its start, middle and end,
 * each deflated at level 1, all save under 2 %. Such a block is stored instead of deflated, as zstd does with raw
 * blocks: deflating random bytes costs the most CPU of any input and makes them bigger, not smaller. The test reads
 * the block only, so the output still depends on the input and settings alone.
 */
function looksIncompressible(block: Buffer, level: number): boolean {
  if (level === 0 || block.length < 4 * PROBE_BYTES) return false;
  for (const at of [0, (block.length - PROBE_BYTES) >> 1, block.length - PROBE_BYTES]) {
    const probe = zlib().deflateRawSync(block.subarray(at, at + PROBE_BYTES), { level: 1 });
    if (probe.length < PROBE_BYTES * 0.98) return false;
  }
  return true;
}

export interface ParallelGzipOptions {
  level?: number;
  /** Bytes per independently compressed block (default 1 MiB). Part of the output format: keep it fixed. */
  blockSize?: number;
  /** Blocks compressed at once (default: the number of CPUs). */
  workers?: number;
}

/**
 * gzip compression spread over several threads, as pigz does: the input is cut into fixed-size blocks, each deflated
 * on zlib's thread pool with the previous 32 KiB as its dictionary and ended with a sync flush, and the pieces are
 * joined in order into one gzip member; a block that looks incompressible is stored rather than deflated
 * (looksIncompressible). The result is an ordinary gzip stream, and the same input and settings
 * always give the same bytes (the block size does not depend on timing or on the number of workers).
 */
export class ParallelGzip extends Transform {
  readonly #level: number;
  readonly #blockSize: number;
  readonly #workers: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #dict: Buffer | undefined;
  #crc = 0;
  #size = 0;
  #headerSent = false;
  #finished = false;
  /** Blocks being compressed, in input order. */
  readonly #inflight: Array<Promise<Buffer>> = [];

  constructor(opts: ParallelGzipOptions = {}) {
    super({ highWaterMark: 1 << 20 });
    this.#level = opts.level ?? 3;
    this.#blockSize = opts.blockSize ?? 1 << 20;
    this.#workers = Math.max(1, opts.workers ?? os().availableParallelism());
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    this.#pump(false).then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    this.#pump(true)
      .then(async () => {
        while (this.#inflight.length > 0) this.#emit(await this.#inflight.shift()!);
        this.#emit(Buffer.alloc(0));
        const trailer = Buffer.alloc(8);
        trailer.writeUInt32LE(this.#crc >>> 0, 0);
        trailer.writeUInt32LE(this.#size % 2 ** 32, 4);
        this.push(trailer);
        cb();
      })
      .catch(cb);
  }

  #emit(b: Buffer): void {
    if (!this.#headerSent) {
      this.push(HEADER);
      this.#headerSent = true;
    }
    if (b.length > 0) this.push(b);
  }

  /** Start compressing every full block (and, at the end, the last partial one); keep at most `workers` in flight. */
  async #pump(final: boolean): Promise<void> {
    while (this.#pendingBytes >= this.#blockSize || (final && this.#pendingBytes > 0)) {
      const all = Buffer.concat(this.#pending, this.#pendingBytes);
      const take = Math.min(this.#blockSize, all.length);
      const block = all.subarray(0, take);
      const rest = all.subarray(take);
      this.#pending = rest.length > 0 ? [rest] : [];
      this.#pendingBytes = rest.length;
      const last = final && rest.length === 0;
      this.#crc = crc32Update(this.#crc, block);
      this.#size += block.length;
      const opts: ZlibOptions = {
        level: looksIncompressible(block, this.#level) ? 0 : this.#level,
        finishFlush: last ? zlib().constants.Z_FINISH : zlib().constants.Z_SYNC_FLUSH,
      };
      if (this.#dict) opts.dictionary = this.#dict;
      this.#dict = Buffer.from(block.subarray(Math.max(0, block.length - DICT_SIZE)));
      const p = deflateBlock(Buffer.from(block), opts);
      p.catch(() => {});
      this.#inflight.push(p);
      while (this.#inflight.length >= this.#workers) this.#emit(await this.#inflight.shift()!);
      if (last) {
        this.#finished = true;
        return;
      }
    }
    if (final && !this.#finished) {
      // The input ended on a block boundary (or was empty): close the deflate stream with an empty final block.
      this.#finished = true;
      const p = deflateBlock(Buffer.alloc(0), { level: this.#level, finishFlush: zlib().constants.Z_FINISH });
      p.catch(() => {});
      this.#inflight.push(p);
    }
  }
}
