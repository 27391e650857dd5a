import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Wharf } from '../engine/index.js';
import { setUpgradeBody, type ApiRequest, type ServerFacts } from './context.js';
import { errorResponse } from './errors.js';
import { startExecReaper } from './exec-reaper.js';
import { matchRoute } from './routes.js';
import { ApiState } from './state.js';
import { API_VERSION, splitVersion } from './versions.js';
import { requestUrl } from '../util/index.js';

export interface ApiServerOptions extends ServerFacts {
  /** One line per failed request (status ≥ 500); default: none. */
  log?: (line: string) => void;
  /** Called when a request starts and when it ends (the idle timer of `system service --time`). */
  onActivity?: (delta: 1 | -1) => void;
}

/**
 * The Docker Engine API over an opened root, as an http.Server not yet listening: the route table's handlers call
 * the library's services, so the CLI and every client of the API share one store. Hijacked calls (attach, exec
 * start) come as `upgrade` events and get the same handlers.
 */
export function createApiServer(wharf: Wharf, opts: ApiServerOptions): Server {
  const state = new ApiState();
  const facts: ServerFacts = { version: opts.version, insecureRegistries: opts.insecureRegistries };
  const headers = {
    'Api-Version': API_VERSION,
    Ostype: 'linux',
    Server: `Wharf/${opts.version} (linux)`,
    'Docker-Experimental': 'false',
  };

  async function dispatch(req: IncomingMessage, res: ServerResponse, upgraded: boolean): Promise<void> {
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    opts.onActivity?.(1);
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      opts.onActivity?.(-1);
    };
    // A hijacked connection is busy until its socket closes; a plain request until its response does.
    if (upgraded) req.socket.once('close', end);
    else res.once('close', end);
    try {
      const url = requestUrl(req.url, 'http://api.moby.localhost');
      if (!url) throw Object.assign(new Error('page not found'), { status: 404 });
      const { version, path } = splitVersion(url.pathname);
      const m = matchRoute(req.method ?? 'GET', path);
      if (!m) throw Object.assign(new Error(`page not found`), { status: 404 });
      if ('allowed' in m) throw Object.assign(new Error(`method ${req.method} not allowed`), { status: 405 });
      const r: ApiRequest = {
        req,
        res,
        params: m.params,
        query: url.searchParams,
        version,
        wharf,
        state,
        server: facts,
      };
      await m.handler(r);
    } catch (err) {
      const status = (err as { status?: number }).status;
      const e = status ? { status, message: (err as Error).message } : errorResponse(err);
      if (e.status >= 500) opts.log?.(`${req.method} ${req.url}: ${e.message}`);
      if (res.headersSent || !res.socket) {
        res.end();
        return;
      }
      const body = JSON.stringify({ message: e.message });
      res.writeHead(e.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    }
  }

  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => void dispatch(req, res, false));
  startExecReaper(server, wharf, state.execs);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // node's http server no longer listens on an upgraded socket: a client that resets it (docker-py drops an exec
    // socket with output unread) would otherwise be an uncaught 'error' that ends the service.
    socket.on('error', () => socket.destroy());
    void (async () => {
      // The request's own body (Content-Length) comes before the client's stream: read it off the socket first.
      const length = Number(req.headers['content-length'] ?? 0);
      const body = await readExactly(socket, head, Number.isSafeInteger(length) && length > 0 ? length : 0);
      if (body.length) setUpgradeBody(req, body);
      const res = new ServerResponse(req);
      res.assignSocket(socket as never);
      res.shouldKeepAlive = false;
      await dispatch(req, res, true);
    })();
  });
  return server;
}

/**
 * The first `length` bytes of a hijacked connection (`head`, then the socket), at most 4 MiB; what follows them stays
 * readable on the socket, which is left paused as the upgrade left it.
 */
async function readExactly(socket: Duplex, head: Buffer, length: number): Promise<Buffer> {
  const want = Math.min(length, 4 * 1024 * 1024);
  let got = head;
  while (got.length < want) {
    const chunk = socket.read() as Buffer | null;
    if (chunk) {
      got = Buffer.concat([got, chunk]);
      continue;
    }
    if (socket.readableEnded || socket.destroyed) break;
    await new Promise<void>((resolve) => {
      const done = () => {
        socket.off('readable', done);
        socket.off('close', done);
        resolve();
      };
      socket.once('readable', done);
      socket.once('close', done);
    });
  }
  if (got.length > want) socket.unshift(got.subarray(want));
  return got.subarray(0, want);
}
