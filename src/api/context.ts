import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Wharf } from '../engine/index.js';
import { WharfError } from '../errors/index.js';
import type { ApiState } from './state.js';

/** One request as a handler sees it: the path's parameters, the query, and the engine. */
export interface ApiRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** `{name}` of the route's pattern (a name may hold slashes and colons, as the docker CLI sends it). */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The API version asked by the path prefix (`/v1.41/…`), or the newest one served. */
  version: string;
  wharf: Wharf;
  state: ApiState;
  server: ServerFacts;
}

/** What the service was started with that its replies report. */
export interface ServerFacts {
  /** Wharf's version (the Server header, /version). */
  version: string;
  /** Registries the service treats as insecure (/info). */
  insecureRegistries: readonly string[];
}

export type Handler = (r: ApiRequest) => Promise<void> | void;

/** Docker's boolean query parameters: `1`/`true` are true, `0`/`false`/absent are the default. */
export function boolParam(q: URLSearchParams, name: string, dflt = false): boolean {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  return !(v === '0' || v.toLowerCase() === 'false');
}

/** A JSON-valued query parameter (`filters`): `{"reference":{"web":true}}` or the older `{"reference":["web"]}`. */
export function filtersParam(q: URLSearchParams): Map<string, string[]> {
  const raw = q.get('filters');
  const out = new Map<string, string[]>();
  if (!raw) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new WharfError('INVALID_ARGUMENT', `invalid filter: ${raw}`);
  }
  for (const [k, v] of Object.entries((parsed ?? {}) as Record<string, unknown>)) {
    out.set(k, Array.isArray(v) ? v.map(String) : Object.keys((v ?? {}) as object));
  }
  return out;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'Content-Length': 0 });
  res.end();
}

/**
 * The bodies of `Upgrade` requests, read off the socket before the hijack (node's parser leaves them there): an exec
 * start's `{"Detach":false,"Tty":false}` is its body, not the first bytes of the process's stdin.
 */
const upgradeBodies = new WeakMap<IncomingMessage, Buffer>();

export function setUpgradeBody(req: IncomingMessage, body: Buffer): void {
  upgradeBodies.set(req, body);
}

/** The request body as JSON (an empty body is `{}`), at most 4 MiB. */
export async function readJson<T>(req: IncomingMessage): Promise<T> {
  const chunks: Buffer[] = [];
  let size = 0;
  const upgraded = upgradeBodies.get(req);
  for await (const c of upgraded ? [upgraded] : (req as AsyncIterable<Buffer>)) {
    size += c.length;
    if (size > 4 * 1024 * 1024) throw new WharfError('TOO_LARGE', 'request body too large');
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new WharfError('INVALID_ARGUMENT', `invalid JSON: ${(err as Error).message}`);
  }
}

/**
 * Answers an `Upgrade: tcp` request (attach, exec start) with `101 UPGRADED` and hands over the raw socket: the
 * docker CLI refuses a 200 here. Bytes the client sent after its headers stay readable on the socket.
 */
export function hijack(r: ApiRequest, contentType = 'application/vnd.docker.raw-stream'): Duplex {
  const socket = r.req.socket;
  const upgrade = (r.req.headers.upgrade ?? '').length > 0;
  const head = upgrade
    ? `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n`
    : `HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\n`;
  const headers = r.res.getHeaders();
  let extra = '';
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) extra += `${k}: ${String(v)}\r\n`;
  // The response object must not write anything of its own to the socket from now on; a client that resets the
  // connection ends it, not the service.
  r.res.detachSocket(socket);
  if (socket.listenerCount('error') === 0) socket.on('error', () => socket.destroy());
  socket.setTimeout(0);
  socket.write(`${head}${extra}\r\n`);
  return socket;
}
