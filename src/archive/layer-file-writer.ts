import { Worker } from 'node:worker_threads';

/** What a new file in the layer gets besides its bytes (as copyUpperLayer sets them: owner, mode, times). */
export interface LayerFileMeta {
  uid: number;
  gid: number;
  /** Permission bits (with setuid/setgid/sticky), no file type. */
  mode: number;
  /** Seconds since the epoch, for both atime and mtime. */
  mtime: number;
}

interface Queued extends LayerFileMeta {
  path: string;
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
 * For each batch: each file created (never over an existing name or through a symlink), written, chowned, chmodded and
 * timed, in the order copyUpperLayer uses on the main thread; the first failure stops the writing and is reported.
 */
const THREAD_CODE = `
const fs = require('node:fs');
const { parentPort } = require('node:worker_threads');
const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
let failed = null;
parentPort.on('message', ({ buf, files }) => {
  const data = Buffer.from(buf);
  for (const f of failed ? [] : files) {
    try {
      const fd = fs.openSync(f.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      try {
        let w = 0;
        while (w < f.len) w += fs.writeSync(fd, data, f.off + w, f.len - w, w);
        fs.fchownSync(fd, f.uid, f.gid);
        fs.fchmodSync(fd, f.mode);
        fs.futimesSync(fd, f.mtime, f.mtime);
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
 * Creates and fills a new layer's files on a worker thread while the main thread walks, reads and hashes the next
 * ones (copyUpperLayer). Creating a file and writing it is most of a commit's kernel time, and it overlaps with the
 * reading and SHA-256 that must stay in order on the main thread: a second core does half the work, and under load
 * the scheduler gives two threads twice the share of one. Files are read straight into a batch buffer that is then
 * moved (not copied) to the thread; three buffers bound the memory to 12 MiB.
 * Only for files that need nothing the thread does not do (no xattrs) and fit a batch; the caller does the rest.
 */
export class LayerFileWriter {
  /** The largest file the thread takes. */
  static readonly maxFileSize = BATCH;

  readonly #worker: Worker;
  readonly #free: ArrayBuffer[] = [];
  #current: Buffer | null = null;
  #queued: Queued[] = [];
  #used = 0;
  #inFlight = 0;
  #failure: Error | null = null;
  #wake: (() => void) | null = null;

  constructor() {
    this.#worker = new Worker(THREAD_CODE, { eval: true });
    for (let i = 0; i < BUFFERS; i++) this.#free.push(new ArrayBuffer(BATCH));
    this.#worker.on('message', (m: { buf: ArrayBuffer; failed: WorkerFailure | null }) => {
      this.#free.push(m.buf);
      this.#inFlight--;
      if (m.failed && !this.#failure) this.#failure = Object.assign(new Error(m.failed.message), m.failed);
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

  /**
   * Queue a new file of `len` bytes at `path` (its directory must exist): `fill` gets the buffer to read exactly those
   * bytes into, before this returns. Throws the thread's first failure (a full disk), here or in drain().
   */
  async add(path: string, len: number, meta: LayerFileMeta, fill: (into: Buffer) => void): Promise<void> {
    if (len > BATCH) throw new RangeError(`${path}: ${len} bytes do not fit a batch`);
    this.#throwIfFailed();
    if (this.#current && BATCH - this.#used < len) this.#send();
    if (!this.#current) {
      while (this.#free.length === 0 && !this.#failure) await this.#sleep();
      this.#throwIfFailed();
      this.#current = Buffer.from(this.#free.pop()!);
      this.#used = 0;
    }
    fill(this.#current.subarray(this.#used, this.#used + len));
    this.#queued.push({ path, off: this.#used, len, ...meta });
    this.#used += len;
  }

  /** Wait until every queued file is written; throws the thread's first failure. */
  async drain(): Promise<void> {
    if (this.#queued.length > 0) this.#send();
    while (this.#inFlight > 0 && !this.#failure) await this.#sleep();
    this.#throwIfFailed();
  }

  /** Stop the thread (after drain(), or to give up): nothing is written once this resolves. */
  async close(): Promise<void> {
    this.#worker.removeAllListeners('exit');
    await this.#worker.terminate();
  }

  #send(): void {
    const buf = this.#current!.buffer as ArrayBuffer;
    this.#worker.postMessage({ buf, files: this.#queued }, [buf]);
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
