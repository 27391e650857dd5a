import type { Duplex } from 'node:stream';
import { PassThrough, Writable } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { WharfError } from '../errors/index.js';
import { formatLogEntry, type AttachOptions, type AttachSession } from '../runtime/index.js';
import { boolParam, type ApiRequest } from './context.js';
import { wsBinaryFrames } from './version-shapes.js';

/** One server for every upgrade: it only does the handshake (noServer), the route table picks the handler. */
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

function accept(r: ApiRequest): Promise<WebSocket> {
  const socket = r.req.socket as Duplex;
  // The HTTP response object must not write to the socket from now on: the handshake writes 101 itself.
  r.res.detachSocket(r.req.socket);
  return new Promise((resolve) => wss.handleUpgrade(r.req, socket, Buffer.alloc(0), resolve));
}

/**
 * GET /containers/{id}/attach/ws: the attach as a WebSocket (what browsers and terminal front ends use). As dockerd
 * sends it: stdout and stderr unframed on the same socket (no 8-byte headers, TTY or not), binary frames from API
 * 1.28 on and text frames before; the client's messages are the container's stdin. With `logs=1` the past output
 * comes first.
 */
export async function attachWsHandler(r: ApiRequest): Promise<void> {
  const c = await r.wharf.containers.get(r.params.id!);
  if ((r.req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
    throw new WharfError('INVALID_ARGUMENT', 'this endpoint needs a WebSocket upgrade (Upgrade: websocket)');
  const ws = await accept(r);
  const binary = wsBinaryFrames(r.version);
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (ws.readyState !== ws.OPEN) return cb();
      ws.send(binary ? chunk : chunk.toString('utf8'), { binary }, () => cb());
    },
  });
  let stdin: PassThrough | undefined;
  if (boolParam(r.query, 'stdin')) {
    const s = new PassThrough();
    stdin = s;
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      s.write(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer));
    });
  }
  ws.once('close', () => stdin?.end());
  const stdout = boolParam(r.query, 'stdout');
  const stderr = boolParam(r.query, 'stderr');
  if (boolParam(r.query, 'logs') && (stdout || stderr)) {
    // `logs`: what the container wrote so far, unframed as the live output, before the attach (as the hijacked form).
    for await (const e of r.wharf.tasks.logs(c.id, { follow: false, stdout, stderr })) {
      if (ws.readyState !== ws.OPEN) break;
      const text = formatLogEntry(e, false);
      await new Promise<void>((resolve) => ws.send(binary ? Buffer.from(text) : text, { binary }, () => resolve()));
    }
    // dockerd attaches only with `stream`: `logs=1` alone is the past output, then the socket closes.
    if (!boolParam(r.query, 'stream')) return void ws.close(1000);
  }
  const streams: AttachOptions = {
    ...(stdin ? { stdin } : {}),
    ...(stdout ? { stdout: out } : {}),
    ...(stderr ? { stderr: out } : {}),
  };
  const follow = (session: AttachSession | undefined) => {
    if (!session) return void ws.close();
    ws.once('close', () => session.detach());
    const done = () => ws.close(1000);
    void session.exit.then(done, done);
  };
  if (c.running) {
    try {
      follow((await r.wharf.tasks.attach(c.id, streams)).session);
    } catch (err) {
      ws.close(1011, (err as Error).message.slice(0, 120));
    }
    return;
  }
  const forget = r.state.addPendingAttach(c.id, { streams, started: follow });
  ws.once('close', forget);
}
