import { discard, header, type HttpRequest, type RoundTrip } from './transport.js';

/** A request that may ask for redirects to be followed (blob GETs and HEADs, which registries send to storage). */
export interface RedirectableRequest extends HttpRequest {
  followRedirects?: boolean;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Hops followed before the last redirect is answered as it is. */
export const MAX_REDIRECTS = 5;

/**
 * The redirect layer: follows `Location` for requests that ask for it. A hop to another host drops the
 * Authorization header: blob downloads are redirected to storage (S3, a CDN) that must not see registry credentials,
 * and carry their own signature in the URL.
 */
export function withRedirects<R extends HttpRequest>(next: RoundTrip<R>): RoundTrip<R & RedirectableRequest> {
  return async (req) => {
    let current = req;
    for (let hop = 0; ; hop++) {
      const res = await next(current);
      const loc = header(res, 'location');
      if (!req.followRedirects || !REDIRECTS.has(res.status) || !loc || hop >= MAX_REDIRECTS) return res;
      await discard(res);
      const url = new URL(loc, current.url);
      const headers = url.host === current.url.host ? current.headers : withoutAuthorization(current.headers);
      current = { ...current, url, ...(headers ? { headers } : {}) };
    }
  };
}

function withoutAuthorization(headers: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!headers) return undefined;
  return Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
}
