import type * as ChildProcess from 'node:child_process';
import type { Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import { WharfError } from '../errors/index.js';
import { lazyBuiltin } from '../util/builtin.js';

const childProcess = lazyBuiltin<typeof ChildProcess>('node:child_process');

/** zstd levels the `zstd` program takes without `--ultra`. */
export const ZSTD_MAX_LEVEL = 19;

/** How a write into a program's stdin fails when the program is gone (sendfile reports a pipe's error as EBADF). */
const PIPE_GONE = new Set(['EPIPE', 'EBADF', 'ECANCELED', 'ECONNRESET']);

/**
 * zstd-compress a stream through the `zstd` program. Node 20's zlib has no zstd (it arrives in Node 22.15/23.8) and
 * Wharf takes no native npm dependency for it, while Debian's zstd is already needed to read zstd layers. `-T0`
 * uses every core; zstd's multi-threaded output does not depend on the number of threads (checked against zstd
 * 1.5.4 with -T1/-T2/-T4/-T0), and a pipe gives a frame without a content size, so the same tar and level always give
 * the same bytes: a second push of the same layer has the same digest on any machine with the same zstd.
 * The program's exit status decides success; a failure destroys the returned stream with the program's message.
 * `src` is the stream to compress, or a function that writes it into the program's stdin (a pipe it must not end;
 * image/layers.ts's tarWriter sends a layer's files there by sendfile): its own failure fails the output (and kills
 * the program); a failure of the pipe under it waits for the program's exit status, which says why.
 */
export function zstdCompress(src: Readable | ((stdin: Socket) => Promise<void>), level: number): Readable {
  if (!Number.isInteger(level) || level < 1 || level > ZSTD_MAX_LEVEL)
    throw new WharfError('INVALID_ARGUMENT', `zstd compression level must be 1 to ${ZSTD_MAX_LEVEL}, not ${level}`);
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const child = childProcess().spawn('zstd', [`-${level}`, '-T0', '-c', '-q', '--no-progress'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  let failed = false;
  let inputCut: Error | undefined; // the writer lost the pipe: the program's status says why, else this
  const fail = (err: Error) => {
    if (failed) return;
    failed = true;
    out.destroy(err);
  };
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    if (stderr.length < 4096) stderr += c;
  });
  child.on('error', (err: NodeJS.ErrnoException) => {
    fail(
      err.code === 'ENOENT'
        ? new WharfError('UNSUPPORTED', 'zstd compression needs the zstd program, which is not installed')
        : new WharfError('INTERNAL', `zstd: ${err.message}`, { cause: err }),
    );
  });
  child.on('close', (code, signal) => {
    if (failed) return;
    if (code !== 0)
      fail(new WharfError('INTERNAL', `zstd: ${stderr.trim().split('\n').pop() || (signal ?? `exit ${code}`)}`));
    else if (inputCut)
      fail(inputCut); // it ended well, on less than the whole input
    else out.end();
  });
  child.stdin.on('error', () => {
    // EPIPE when the program died early; its exit status reports why.
  });
  const srcFailed = (err: Error): void => {
    fail(err);
    child.kill('SIGKILL');
  };
  out.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (typeof src !== 'function' && !src.destroyed) src.destroy();
  });
  if (typeof src === 'function') {
    const stdin = child.stdin as Socket; // a pipe: net.Socket, which sendfile can write to
    src(stdin).then(
      () => stdin.end(),
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        const code = (e as NodeJS.ErrnoException).code ?? '';
        if (!stdin.destroyed && !PIPE_GONE.has(code)) return srcFailed(e);
        inputCut = e;
        stdin.destroy(); // no hang if the program is still there: it reads the end of its input and exits
      },
    );
  } else {
    src.on('error', srcFailed);
    src.pipe(child.stdin);
  }
  child.stdout.pipe(out, { end: false });
  return out;
}
