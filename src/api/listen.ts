import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import * as path from 'node:path';
import type { Wharf } from '../engine/index.js';
import { WharfError } from '../errors/index.js';
import { activationFd, type TlsConfig } from './activation.js';
import { idleCollector } from './idle-gc.js';
import { createApiServer, type ApiServerOptions } from './server.js';

export type ListenAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number }
  /** A listening socket passed by systemd (socket activation): `fd://`, `fd://3`, `fd://NAME`. */
  | { kind: 'fd'; spec: string };

/**
 * `unix:///run/wharf/wharf.sock`, `tcp://127.0.0.1:2375`, `fd://` (dockerd's -H forms; a bare path is a unix
 * socket).
 */
export function parseListenUri(uri: string): ListenAddress {
  if (uri.startsWith('fd://')) return { kind: 'fd', spec: uri.slice('fd://'.length) };
  if (uri.startsWith('unix://')) {
    const p = uri.slice('unix://'.length);
    if (!p.startsWith('/')) throw new WharfError('INVALID_ARGUMENT', `invalid unix socket path: ${uri}`);
    return { kind: 'unix', path: p };
  }
  if (uri.startsWith('/')) return { kind: 'unix', path: uri };
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]*):(\d+)\/?$/.exec(uri);
  if (m) {
    const host = m[1]!.replace(/^\[|\]$/g, '') || '127.0.0.1';
    return { kind: 'tcp', host, port: Number(m[2]) };
  }
  throw new WharfError('INVALID_ARGUMENT', `invalid listen address: ${uri} (want unix:///path or tcp://host:port)`);
}

export interface ServeOptions extends Omit<ApiServerOptions, 'onActivity'> {
  address: ListenAddress;
  /** Exit after this many seconds without a request in flight; 0 serves until closed. */
  idleSeconds: number;
  /** TLS on a tcp:// (or fd://) address, with client certificates checked when `verify` (dockerd's --tlsverify). */
  tls?: TlsConfig;
}

export interface RunningApi {
  server: Server;
  /** The socket listening (the TLS server in front of `server` when TLS is on). */
  listener: Server | TlsServer;
  /** Resolves when the service stopped (closed, or idle for `idleSeconds`). */
  stopped: Promise<void>;
  close(): Promise<void>;
}

/** The gid of the group `wharf`, when the host has one (the socket is then its group's, as docker.sock is docker's). */
function wharfGroup(): number | undefined {
  try {
    const line = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('wharf:'));
    const gid = line ? Number(line.split(':')[2]) : Number.NaN;
    return Number.isInteger(gid) ? gid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether something answers on a unix socket (a second service on the same path must not steal it). */
function socketAnswers(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(p);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Serves the Engine API on a unix socket (mode 0660: root's and its group's, as docker.sock) or TCP, until closed
 * or idle. Connections in flight (a `logs -f`, an attach) count as activity, so an idle exit never cuts one.
 */
export async function serveApi(wharf: Wharf, opts: ServeOptions): Promise<RunningApi> {
  let active = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  const armIdle = () => {
    if (opts.idleSeconds <= 0 || active > 0) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => void close(), opts.idleSeconds * 1000);
  };
  const gc = idleCollector();
  const server = createApiServer(wharf, {
    ...opts,
    onActivity: (d) => {
      active += d;
      if (d > 0) {
        clearTimeout(idleTimer);
        gc.busy();
      } else {
        armIdle();
        if (active === 0) gc.idle();
      }
    },
  });
  const a = opts.address;
  if (a.kind === 'unix') {
    mkdirSync(path.dirname(a.path), { recursive: true, mode: 0o711 });
    if (await socketAnswers(a.path)) throw new WharfError('CONFLICT', `another service is listening on ${a.path}`);
    rmSync(a.path, { force: true }); // a stale socket of a killed service
  }
  // TLS: a tls.Server accepts and hands each decrypted connection to the HTTP server (upgrades included).
  const listener: Server | TlsServer = opts.tls
    ? createTlsServer(
        {
          ca: opts.tls.ca,
          cert: opts.tls.cert,
          key: opts.tls.key,
          requestCert: opts.tls.verify,
          rejectUnauthorized: opts.tls.verify,
          minVersion: 'TLSv1.2',
        },
        (sock) => server.emit('connection', sock),
      )
    : server;
  const where = a.kind === 'unix' ? a.path : a.kind === 'tcp' ? `${a.host}:${a.port}` : `fd://${a.spec}`;
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    if (a.kind === 'unix') listener.listen(a.path, resolve);
    else if (a.kind === 'tcp') listener.listen(a.port, a.host, resolve);
    else listener.listen({ fd: activationFd(a.spec) }, resolve);
  }).catch((err: Error) => {
    if (err instanceof WharfError) throw err;
    throw new WharfError('UNAVAILABLE', `cannot listen on ${where}: ${err.message}`);
  });
  if (a.kind === 'unix') {
    chmodSync(a.path, 0o660);
    const gid = wharfGroup();
    if (gid !== undefined) chownSync(a.path, process.getuid?.() ?? 0, gid);
  }
  armIdle();
  let closing: Promise<void> | undefined;
  async function close(): Promise<void> {
    closing ??= (async () => {
      clearTimeout(idleTimer);
      gc.stop();
      if (listener !== server) await new Promise<void>((resolve) => listener.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (a.kind === 'unix') rmSync(a.path, { force: true });
      resolveStopped();
    })();
    return closing;
  }
  return { server, listener, stopped, close };
}
