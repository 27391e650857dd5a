import type * as WorkerThreads from 'node:worker_threads';
import type { Digest } from '../digest/index.js';
import { lazyBuiltin } from '../util/index.js';

// Loaded by the first commit: node:worker_threads costs ~2 ms of start-up, and every command loads this module.
const workerThreads = lazyBuiltin<typeof WorkerThreads>('node:worker_threads');

/** What a new file in the layer gets besides its bytes (as copyUpperLayer sets them: owner, mode, times). */
export interface LayerFileMeta {
  uid: number;
  gid: number;
  /** Permission bits (with setuid/setgid/sticky), no file type. */
  mode: number;
  /** Seconds since the epoch, for both atime and mtime. */
  mtime: number;
}

/** One piece of the layer tar in a batch, hashed in order; with a path, a file's body to write there too. */
interface Piece extends Partial<LayerFileMeta> {
  path?: string;
  off: number;
  len: number;
}

interface WorkerFailure {
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
}

/** Bytes per batch handed to the thread; a file must fit in one. */
const BATCH = 4 << 20;
/** Batches in flight: one being filled here, one being written there, one spare. */
const BUFFERS = 3;

/**
 * The thread's code (plain JavaScript, run with `eval`: a worker script file would have to ship next to the bundle).
 * For each batch, each piece in order: hashed (the layer tar's SHA-256), and a file's piece created (never over an
 * existing name or through a symlink), written, chowned, chmodded and timed, in the order copyUpperLayer uses on the
 * main thread. The first failure stops the writing (the hashing goes on) and is reported; `end` asks for the digest.
 */
const THREAD_CODE = `
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const { parentPort } = require('node:worker_threads');
const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
const hash = createHash('sha256');
let failed = null;
parentPort.on('message', ({ buf, pieces, end }) => {
  if (end) {
    parentPort.postMessage({ digest: hash.digest('hex') });
    return;
  }
  const data = Buffer.from(buf);
  for (const p of pieces) {
    hash.update(data.subarray(p.off, p.off + p.len));
    if (p.path === undefined || failed) continue;
    try {
      const fd = fs.openSync(p.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      try {
        let w = 0;
        while (w < p.len) w += fs.writeSync(fd, data, p.off + w, p.len - w, w);
        fs.fchownSync(fd, p.uid, p.gid);
        fs.fchmodSync(fd, p.mode);
        fs.futimesSync(fd, p.mtime, p.mtime);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      failed = { message: err.message, code: err.code, errno: err.errno, syscall: err.syscall, path: err.path };
    }
  }
  parentPort.postMessage({ buf, failed }, [buf]);
});
`;

/**
 * Hashes a new layer's tar and creates and fills its plain files on a worker thread, while the main thread walks and
 * reads (copyUpperLayer). Hashing, creating files and writing them are two thirds of a commit's CPU; the walk and the
 * reads stay in order on the main thread: a second core does half the work, and under load the scheduler gives two
 * threads twice the share of one. Everything goes through batch buffers in tar order (headers and padding copied in,
 * files read straight in) that are moved, not copied, to the thread; three buffers bound the memory to 12 MiB.
 * Files that need what the thread does not do (xattrs) or do not fit a batch are the caller's to write; their bytes
 * still come here to be hashed.
 */
export class LayerFileWriter {
  /** The largest file the thread takes. */
  static readonly maxFileSize = BATCH;

  readonly #worker: WorkerThreads.Worker;
  readonly #free: ArrayBuffer[] = [];
  #current: Buffer | null = null;
  #queued: Piece[] = [];
  #used = 0;
  #inFlight = 0;
  #failure: Error | null = null;
  #wake: (() => void) | null = null;
  #digest: string | null = null;

  constructor() {
    this.#worker = new (workerThreads().Worker)(THREAD_CODE, { eval: true });
    for (let i = 0; i < BUFFERS; i++) this.#free.push(new ArrayBuffer(BATCH));
    this.#worker.on('message', (m: { buf: ArrayBuffer; failed: WorkerFailure | null } | { digest: string }) => {
      if ('digest' in m) {
        this.#digest = m.digest;
      } else {
        this.#free.push(m.buf);
        this.#inFlight--;
        if (m.failed && !this.#failure) this.#failure = Object.assign(new Error(m.failed.message), m.failed);
      }
      this.#wakeUp();
    });
    this.#worker.on('error', (err) => {
      this.#failure ??= err;
      this.#wakeUp();
    });
    this.#worker.on('exit', (code) => {
      this.#failure ??= new Error(`the layer writer thread exited (${code})`);
      this.#wakeUp();
    });
  }

  /** Hash `bytes` next (copied: the caller may reuse them). */
  async hash(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length; ) {
      const room = await this.#room(1);
      const n = Math.min(room.length, bytes.length - at);
      room.set(bytes.subarray(at, at + n));
      // A header and the padding before it are one piece.
      const last = this.#queued.at(-1);
      if (last && last.path === undefined && last.off + last.len === this.#used) last.len += n;
      else this.#queued.push({ off: this.#used, len: n });
      this.#used += n;
      at += n;
    }
  }

  /**
   * Hash and write a new file of `len` bytes at `path` (its directory must exist): `fill` gets the buffer to read
   * exactly those bytes into, before this returns. Throws the thread's first failure (a full disk), here or later.
   */
  async add(path: string, len: number, meta: LayerFileMeta, fill: (into: Buffer) => void): Promise<void> {
    if (len > BATCH) throw new RangeError(`${path}: ${len} bytes do not fit a batch`);
    const room = await this.#room(len);
    fill(room.subarray(0, len));
    this.#queued.push({ path, off: this.#used, len, ...meta });
    this.#used += len;
  }

  /** Wait until every file so far is written; throws the thread's first failure. */
  async drain(): Promise<void> {
    if (this.#queued.length > 0) this.#send();
    while (this.#inFlight > 0 && !this.#failure) await this.#sleep();
    this.#throwIfFailed();
  }

  /** drain(), then the digest of everything hashed (`sha256:…`). Nothing may be added after. */
  async finish(): Promise<Digest> {
    await this.drain();
    this.#worker.postMessage({ end: true });
    while (this.#digest === null && !this.#failure) await this.#sleep();
    this.#throwIfFailed();
    return `sha256:${this.#digest}` as Digest;
  }

  /** Stop the thread (after drain(), or to give up): nothing is written once this resolves. */
  async close(): Promise<void> {
    this.#worker.removeAllListeners('exit');
    await this.#worker.terminate();
  }

  /** The free part of the current batch, at least `len` bytes (a batch sent and another taken when it is not). */
  async #room(len: number): Promise<Buffer> {
    this.#throwIfFailed();
    if (this.#current && BATCH - this.#used < len) this.#send();
    if (!this.#current) {
      while (this.#free.length === 0 && !this.#failure) await this.#sleep();
      this.#throwIfFailed();
      this.#current = Buffer.from(this.#free.pop()!);
      this.#used = 0;
    }
    return this.#current.subarray(this.#used);
  }

  #send(): void {
    const buf = this.#current!.buffer as ArrayBuffer;
    this.#worker.postMessage({ buf, pieces: this.#queued }, [buf]);
    this.#inFlight++;
    this.#current = null;
    this.#queued = [];
    this.#used = 0;
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure;
  }

  #sleep(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
