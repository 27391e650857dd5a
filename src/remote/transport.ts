import type * as Http from 'node:http';
import type * as Https from 'node:https';
import type * as Tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { WharfError } from '../errors/index.js';
import { lazyBuiltin } from '../util/index.js';

const http = lazyBuiltin<typeof Http>('node:http');
const https = lazyBuiltin<typeof Https>('node:https');
const tls = lazyBuiltin<typeof Tls>('node:tls');

/** One HTTP exchange, before auth and retries: the bottom layer of the registry client. */
export interface HttpRequest {
  url: URL;
  method: string;
  headers?: Record<string, string>;
  /** A buffer is sent with Content-Length; a stream is sent chunked. */
  body?: Buffer | Readable;
  /**
   * Verify the server's TLS certificate (default true). NODE_EXTRA_CA_CERTS extends the trusted CAs, as Node does;
   * so does WHARF_EXTRA_CA_CERTS, where bin/wharf moves it to spare every other command reading it at start-up.
   */
  tlsVerify?: boolean;
  /** Socket idle timeout: a peer silent this long fails the request or the body stream with ETIMEDOUT. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Must be consumed or destroyed by the caller. */
  body: IncomingMessage;
  url: URL;
}

export const USER_AGENT = 'wharf/0.1';

/**
 * Sends one request and answers its response: the shape of the transport and of every layer wrapped around it
 * (ping, auth, retry, redirects), as go-containerregistry's layers are each an http.RoundTripper.
 */
export type RoundTrip<R extends HttpRequest = HttpRequest> = (req: R) => Promise<HttpResponse>;

export interface TransportOptions {
  agents: Agents;
  /** Whether to verify the certificate of this URL's host, when the request does not say (hosts.ts tlsVerifyFor). */
  tlsVerify: (url: URL) => boolean;
  /** Socket idle timeout when the request does not say. Default 60 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The one transport: node:http/https over the client's keep-alive agents, with its TLS rule, timeout and signal. */
export function httpTransport(opts: TransportOptions): RoundTrip {
  return (req) =>
    sendHttp(
      {
        url: req.url,
        method: req.method,
        ...(req.headers ? { headers: req.headers } : {}),
        ...(req.body !== undefined ? { body: req.body } : {}),
        tlsVerify: req.tlsVerify ?? opts.tlsVerify(req.url),
        ...(req.timeoutMs !== undefined
          ? { timeoutMs: req.timeoutMs }
          : opts.timeoutMs !== undefined
            ? { timeoutMs: opts.timeoutMs }
            : {}),
        ...(req.signal ? { signal: req.signal } : opts.signal ? { signal: opts.signal } : {}),
      },
      opts.agents,
    );
}

/** Keep-alive agents owned by one client; `destroy()` closes their sockets so the process can exit. */
export class Agents {
  /** `caFile`: extra trusted CA certificates (PEM), read when the first verified HTTPS agent is made. */
  constructor(private readonly caFile?: string) {}
  #http?: Http.Agent;
  #https?: Https.Agent;
  #httpsInsecure?: Https.Agent;
  get http(): Http.Agent {
    this.#http ??= new (http().Agent)({ keepAlive: true, maxSockets: 16 });
    return this.#http;
  }
  get https(): Https.Agent {
    this.#https ??= new (https().Agent)({ keepAlive: true, maxSockets: 16, ...extraCaOption(this.caFile) });
    return this.#https;
  }
  get httpsInsecure(): Https.Agent {
    // No trust store (`ca: []`) where nothing is verified: Node would otherwise parse its ~140 bundled root
    // certificates for the first TLS connection, 26-31 ms here, paid by every push and pull to an insecure registry
    // (HTTPS is tried first, as Docker does, even when the registry speaks plain HTTP).
    this.#httpsInsecure ??= new (https().Agent)({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false, ca: [] });
    return this.#httpsInsecure;
  }
  destroy(): void {
    this.#http?.destroy();
    this.#https?.destroy();
    this.#httpsInsecure?.destroy();
  }
}

/**
 * Node's default trust store plus the PEM certificates of `file` (RemoteOptions.caFile; the CLI's
 * WHARF_EXTRA_CA_CERTS). An unreadable file is ignored with the same leniency as Node's NODE_EXTRA_CA_CERTS.
 */
export function extraCaOption(file: string | undefined): { ca?: string[] } {
  if (!file) return {};
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const extra = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return extra.length ? { ca: [...tls().rootCertificates, ...extra] } : {};
}

function sendHttp(req: HttpRequest, agents: Agents): Promise<HttpResponse> {
  const isHttps = req.url.protocol === 'https:';
  const verify = req.tlsVerify ?? true;
  const mod = isHttps ? https() : http();
  const agent = isHttps ? (verify ? agents.https : agents.httpsInsecure) : agents.http;
  const headers: Record<string, string> = { 'User-Agent': USER_AGENT, ...req.headers };
  if (Buffer.isBuffer(req.body)) headers['Content-Length'] = String(req.body.length);
  else if (req.body === undefined && (req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH')) {
    headers['Content-Length'] ??= '0';
  }
  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    const r = mod.request(req.url, { method: req.method, headers, agent, signal: req.signal }, (res) => {
      settled = true;
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url: req.url });
    });
    r.setTimeout(req.timeoutMs ?? 60_000, () => {
      const e = new Error(
        `no data from ${req.url.host} for ${Math.round((req.timeoutMs ?? 60_000) / 1000)}s`,
      ) as NodeJS.ErrnoException;
      e.code = 'ETIMEDOUT';
      r.destroy(e);
    });
    r.on('error', (err) => {
      // A body stream we were sending is useless now; destroying it releases whatever feeds it.
      if (req.body instanceof Readable) req.body.destroy();
      fail(err);
    });
    if (req.body === undefined) r.end();
    else if (Buffer.isBuffer(req.body)) r.end(req.body);
    else {
      const src = req.body;
      src.on('error', (err) => {
        r.destroy(err);
        fail(err);
      });
      src.pipe(r);
    }
  });
}

/** Read a (small) response body whole, failing with TOO_LARGE past `max` bytes. */
export async function readBody(res: HttpResponse, max: number, what: string): Promise<Buffer> {
  const len = Number(res.headers['content-length']);
  if (Number.isFinite(len) && len > max) {
    res.body.destroy();
    throw new WharfError('TOO_LARGE', `${what} is ${len} bytes, more than the ${max}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res.body) {
    const b = c as Buffer;
    size += b.length;
    if (size > max) {
      res.body.destroy();
      throw new WharfError('TOO_LARGE', `${what} is more than the ${max}-byte limit`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Drain and forget a response body (keeps the socket reusable). */
export async function discard(res: HttpResponse): Promise<void> {
  try {
    for await (const _ of res.body) {
      // discard
    }
  } catch {
    // a broken body of a response we do not need is not an error
  }
}

/** Header value as one string. */
export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}
