/**
 * sendfile(2) from a file to a plain TCP socket, through the optional native addon (native/sendfile.c, built by
 * scripts/build-native.mjs). The kernel moves the bytes from the page cache to the socket: no read into JS buffers,
 * no write back, no stream machinery per chunk. Linux only; without the addon `sendFileAvailable()` is false and
 * callers stream instead.
 */
import type { Socket } from 'node:net';
import { loadNativeAddon } from './native.js';

interface Addon {
  sendFile(
    socketFd: number,
    fileFd: number,
    offset: number,
    length: number,
    cb: (err: Error | null, sent: number) => void,
  ): object;
  cancel(handle: object): void;
  progress(handle: object): number;
}

function load(): Addon | null {
  return loadNativeAddon<Addon>(
    'wharf_sendfile',
    (m) => typeof m.sendFile === 'function' && typeof m.cancel === 'function' && typeof m.progress === 'function',
  );
}

/** Whether the native addon is loaded (Linux, built, not turned off with WHARF_NATIVE=0). */
export function sendFileAvailable(): boolean {
  return load() !== null;
}

/** The kernel fd of a plain (not TLS) connected socket, or undefined when sendfile cannot be used on it. */
function socketFd(socket: Socket): number | undefined {
  if ((socket as Socket & { encrypted?: boolean }).encrypted) return undefined;
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** Whether `sendFileToSocket` can serve this socket: the addon is there and the socket is plain TCP (or a Unix socket). */
export function canSendFile(socket: Socket): boolean {
  return load() !== null && !socket.destroyed && socketFd(socket) !== undefined;
}

export interface SendFileError extends Error {
  code?: string;
  /** Bytes that went out before the failure. */
  bytesSent: number;
}

const EMPTY = Buffer.alloc(0);

/** Resolves when everything written to the socket through Node has reached the kernel. */
function flushed(socket: Socket): Promise<void> {
  if (socket.writableLength === 0 && !socket.writableCorked) return Promise.resolve();
  return new Promise((resolve, reject) => {
    socket.write(EMPTY, (err) => (err ? reject(err) : resolve()));
    // http corks a socket for one tick around response writes; the bytes we wait for must not sit in that buffer.
    while (socket.writableCorked) socket.uncork();
  });
}

function failure(message: string, code: string, bytesSent: number, cause?: unknown): SendFileError {
  return Object.assign(new Error(message, cause !== undefined ? { cause } : undefined), { code, bytesSent });
}

/**
 * Sends `length` bytes of the open file `fd` from `offset` to `socket`, after whatever Node has already written to it
 * (response headers). Resolves with the byte count; rejects with a SendFileError (its `bytesSent` says how far it got)
 * when the peer goes away, the socket closes (the transfer is cancelled: a client that stops reading does not pin the
 * connection) or the file is shorter than asked. `fd` must stay open until the promise settles. The socket must not
 * be written to meanwhile.
 *
 * `idleMs`: give up (code ETIMEDOUT) when no byte went out for that long. The kernel writes the body behind Node's
 * back, so the socket's own inactivity timeout cannot see the transfer: it is suspended meanwhile.
 */
export async function sendFileToSocket(
  socket: Socket,
  fd: number,
  offset: number,
  length: number,
  opts: { idleMs?: number } = {},
): Promise<number> {
  const a = load();
  if (!a) throw failure('sendfile: the native addon is not available', 'ENOTSUP', 0);
  if (socketFd(socket) === undefined)
    throw failure('sendfile: not a plain socket with a file descriptor', 'ENOTSUP', 0);
  await flushed(socket).catch((err: unknown) => {
    throw failure(
      `sendfile: the socket failed before the body: ${(err as Error).message}`,
      (err as { code?: string }).code ?? 'EPIPE',
      0,
      err,
    );
  });
  if (length === 0) return 0;
  // Read the fd again: the socket may have closed while its buffer drained.
  const sock = socket.destroyed ? undefined : socketFd(socket);
  if (sock === undefined) throw failure('sendfile: the socket closed before the body', 'ECANCELED', 0);
  const idleMs = opts.idleMs ?? 0;
  const socketTimeout = (socket as Socket & { timeout?: number }).timeout ?? 0;
  if (idleMs > 0 && socketTimeout > 0) socket.setTimeout(0);
  return new Promise<number>((resolve, reject) => {
    let stalled = false;
    let watch: NodeJS.Timeout | undefined;
    const onClose = () => a.cancel(handle);
    const handle = a.sendFile(sock, fd, offset, length, (err, sent) => {
      socket.off('close', onClose);
      if (watch) clearInterval(watch);
      if (idleMs > 0 && socketTimeout > 0 && !socket.destroyed) socket.setTimeout(socketTimeout);
      if (stalled)
        reject(failure(`sendfile: no progress for ${idleMs} ms: the client stopped reading`, 'ETIMEDOUT', sent));
      else if (err) reject(Object.assign(err, { bytesSent: sent }));
      else resolve(sent);
    });
    socket.once('close', onClose);
    if (idleMs > 0) {
      let last = 0;
      let lastMove = Date.now();
      watch = setInterval(
        () => {
          const now = a.progress(handle);
          if (now !== last) {
            last = now;
            lastMove = Date.now();
          } else if (Date.now() - lastMove >= idleMs) {
            stalled = true;
            a.cancel(handle);
          }
        },
        Math.max(10, Math.min(1000, Math.floor(idleMs / 4))),
      );
      watch.unref();
    }
  });
}
