import { WharfError } from '../errors/index.js';
import { usableChallenge, type Challenge } from './challenge.js';
import { isTransientNetworkError, networkError, registryError } from './errors.js';
import type { RegistryEndpoint } from './hosts.js';
import { withRetry, type RetryPolicy } from './retry.js';
import { readBody, type HttpResponse, type RoundTrip } from './transport.js';

/** What `GET /v2/` taught: where the API is, and how it wants to be authenticated. */
export interface PingResult {
  /** 'https://host/' or, for an insecure registry without TLS, 'http://host/'. */
  base: URL;
  /** The challenge to answer (Bearer preferred over Basic); undefined when the registry asks for none. */
  challenge?: Challenge;
}

/** A ping answers quickly or not at all: its timeout is at most this, whatever the client's. */
const PING_TIMEOUT_MS = 30_000;
const MAX_PING_BODY = 64 * 1024;

/**
 * The ping layer: `GET /v2/` over HTTPS, then (for an insecure registry whose HTTPS fails) plain HTTP. 200 and 401
 * are registries; a 401 without a usable challenge, a 404 and other errors are not. A refused connection is not
 * retried (nothing listens there); 5xx and other transient failures are, under `retry`.
 */
export async function ping(
  endpoint: RegistryEndpoint,
  send: RoundTrip,
  retry: RetryPolicy,
  timeoutMs = PING_TIMEOUT_MS,
): Promise<PingResult> {
  const schemes = endpoint.insecure ? ['https', 'http'] : ['https'];
  let lastErr: unknown;
  for (const scheme of schemes) {
    const base = new URL(`${scheme}://${endpoint.apiHost}/`);
    // A TLS handshake against a plain-HTTP server fails at once: try the next scheme instead of retrying.
    const fallsBack = scheme === 'https' && schemes.length > 1;
    const pinger = withRetry(send, {
      ...retry,
      retryError: (err) =>
        !fallsBack && isTransientNetworkError(err) && (err as NodeJS.ErrnoException).code !== 'ECONNREFUSED',
      retryStatus: (status) => status >= 500,
    });
    let res: HttpResponse;
    try {
      res = await pinger({
        url: new URL('/v2/', base),
        method: 'GET',
        timeoutMs: Math.min(timeoutMs, PING_TIMEOUT_MS),
      });
    } catch (err) {
      lastErr = err;
      if (fallsBack) continue;
      if (scheme === 'https' && answeredInPlainHttp(err)) throw plainHttpRegistry(endpoint, base);
      throw networkError(endpoint.domain, err);
    }
    const body = await readBody(res, MAX_PING_BODY, 'ping response').catch(() => Buffer.alloc(0));
    if (res.status === 200 || res.status === 401) {
      const challenge = usableChallenge(res.headers['www-authenticate']);
      if (res.status === 401 && !challenge) {
        throw new WharfError(
          'UNAVAILABLE',
          `registry ${endpoint.domain} requires authentication but sent no usable challenge`,
        );
      }
      return { base, ...(challenge ? { challenge } : {}) };
    }
    if (res.status === 404)
      throw new WharfError('UNAVAILABLE', `${endpoint.domain} is not a registry: GET /v2/ answered 404`);
    throw registryError(res.status, body, `pinging registry ${endpoint.domain}`);
  }
  throw networkError(endpoint.domain, lastErr);
}

/**
 * A TLS handshake that got an HTTP response instead: OpenSSL reads "HTTP/1.1 400" as a record of an unknown version
 * (EPROTO, "wrong version number" or "packet length too long").
 */
function answeredInPlainHttp(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException | undefined;
  const text = `${e?.code ?? ''} ${e?.message ?? ''} ${(e?.cause as Error | undefined)?.message ?? ''}`;
  return /wrong version number|packet length too long|WRONG_VERSION_NUMBER|http request/i.test(text);
}

/**
 * Docker's words for a registry that speaks plain HTTP but is not insecure (Go's net/http message, as dockerd relays
 * it), and how to allow it, instead of the TLS library's EPROTO.
 */
function plainHttpRegistry(endpoint: RegistryEndpoint, base: URL): WharfError {
  return new WharfError(
    'UNAVAILABLE',
    `Get "${new URL('/v2/', base).href}": http: server gave HTTP response to HTTPS client ` +
      `(${endpoint.domain} speaks plain HTTP; to allow it, mark it insecure: ` +
      `WHARF_INSECURE_REGISTRIES=${endpoint.domain}, or --insecure on pull/push/login)`,
  );
}
