import { PassThrough, type Readable, type Transform } from 'node:stream';
import type * as Zlib from 'node:zlib';
import { lazyBuiltin, spawn } from '../util/index.js';
import { WharfError } from '../errors/index.js';

const zlib = lazyBuiltin<typeof Zlib>('node:zlib');

export type Compression = 'gzip' | 'xz' | 'zstd' | 'bzip2' | 'none';

const MAGIC: Array<[Compression, Buffer]> = [
  ['gzip', Buffer.from([0x1f, 0x8b])],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
  ['bzip2', Buffer.from('BZh', 'latin1')],
];
const SNIFF_BYTES = 6;
const GUNZIP_CHUNK = 256 * 1024;

export function detectCompression(head: Uint8Array): Compression {
  for (const [kind, magic] of MAGIC) {
    if (head.length >= magic.length && Buffer.from(head.subarray(0, magic.length)).equals(magic)) return kind;
  }
  return 'none';
}

/**
 * Read the first `n` bytes (fewer at the end of the stream) and hand back a stream of the whole content.
 * Not read()/unshift(): a read() that drains an ended stream schedules 'end', and bytes unshifted after that are
 * lost, so a small stream that had already ended would look empty.
 */
async function peek(src: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let total = 0;
  // Errors can arrive between the peek and the hand-over; keep one listener for the whole life of the stream.
  let srcError: Error | undefined;
  let out: PassThrough | undefined;
  src.on('error', (err) => {
    srcError = err;
    out?.destroy(err);
  });
  const ended =
    src.readableEnded ||
    (await new Promise<boolean>((resolve, reject) => {
      const cleanup = () => {
        src.off('data', onData);
        src.off('end', onEnd);
        src.off('error', onError);
      };
      const onData = (chunk: Buffer | string) => {
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        chunks.push(b);
        total += b.length;
        if (total >= n) {
          src.pause();
          cleanup();
          resolve(false);
        }
      };
      const onEnd = () => {
        cleanup();
        resolve(true);
      };
      const onError = (err: Error) => {
        cleanup();
        reject(err);
      };
      src.on('data', onData);
      src.on('end', onEnd);
      src.on('error', onError);
    }));
  const head = Buffer.concat(chunks);
  const stream = new PassThrough({ highWaterMark: 1 << 20 });
  out = stream;
  if (srcError) {
    stream.destroy(srcError);
    return { head, stream };
  }
  if (head.length) stream.write(head);
  if (ended) stream.end();
  else {
    stream.on('close', () => {
      if (!src.destroyed) src.destroy();
    });
    src.pipe(stream);
  }
  return { head, stream };
}

function decodeError(kind: Compression, detail: string, cause?: unknown): WharfError {
  return new WharfError('INVALID_ARGUMENT', `layer is not valid ${kind} data: ${detail}`, { cause });
}

/** src → transform → out, with src errors passed on, transform errors mapped, and early consumer exit cleaned up. */
function through(src: Readable, transform: Transform, kind: Compression): Readable {
  const out = new PassThrough();
  src.on('error', (err) => out.destroy(err));
  transform.on('error', (err) => out.destroy(decodeError(kind, err.message, err)));
  out.on('close', () => {
    if (!transform.destroyed) transform.destroy();
    if (!src.destroyed) src.destroy();
  });
  src.pipe(transform).pipe(out);
  return out;
}

/** Decompress through an external tool (Node has no xz, zstd or bzip2); its exit status decides success. */
function throughProcess(src: Readable, kind: Compression, file: string, args: string[]): Readable {
  const out = new PassThrough();
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let failed = false;
  const fail = (err: Error) => {
    if (failed) return;
    failed = true;
    out.destroy(err);
  };
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    if (stderr.length < 4096) stderr += c;
  });
  child.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT')
      fail(new WharfError('UNSUPPORTED', `${kind}-compressed layers need the ${file} program, which is not installed`));
    else fail(decodeError(kind, err.message, err));
  });
  child.on('close', (code, signal) => {
    if (failed) return;
    if (code === 0) out.end();
    else fail(decodeError(kind, stderr.trim().split('\n').pop() || `${file} ${signal ?? `exit ${code}`}`));
  });
  child.stdin.on('error', () => {
    // EPIPE when the tool stops early on bad input; its exit status reports the failure.
  });
  src.on('error', (err) => {
    fail(err);
    child.kill('SIGKILL');
  });
  out.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (!src.destroyed) src.destroy();
  });
  src.pipe(child.stdin);
  child.stdout.pipe(out, { end: false });
  return out;
}

/** Sniff the compression from magic bytes and return the uncompressed stream. */
export async function decompressStream(src: Readable): Promise<Readable> {
  const { head, stream } = await peek(src, SNIFF_BYTES);
  const kind = detectCompression(head);
  switch (kind) {
    case 'gzip':
      // Large output chunks: each chunk is one round trip to the thread pool and one write downstream; the default
      // 16 KiB makes a 100 MB layer thousands of them.
      return through(stream, zlib().createGunzip({ chunkSize: GUNZIP_CHUNK }), kind);
    case 'xz':
      return throughProcess(stream, kind, 'xz', ['-dc', '-q']);
    case 'zstd':
      return throughProcess(stream, kind, 'zstd', ['-dc', '-q']);
    case 'bzip2':
      return throughProcess(stream, kind, 'bzip2', ['-dc', '-q']);
    case 'none': {
      // A PassThrough so the caller always gets a plain Node stream it owns.
      const out = new PassThrough();
      stream.on('error', (err) => out.destroy(err));
      out.on('close', () => {
        if (!stream.destroyed) stream.destroy();
      });
      stream.pipe(out);
      return out;
    }
  }
}
