import { Readable } from 'node:stream';
import { WharfError } from '../errors/index.js';
import { isTransientNetworkError } from './errors.js';
import { discard, header, type HttpRequest, type HttpResponse, type RoundTrip } from './transport.js';

/** How failed requests are retried: bounded attempts, exponential back-off, and which failures a retry may cure. */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  /** The first back-off; it doubles per retry. */
  baseMs: number;
  signal?: AbortSignal;
  /** Failures worth another attempt. Default: transient network errors (isTransientNetworkError). */
  retryError?: (err: unknown) => boolean;
  /** Statuses worth another attempt. Default: 5xx and 429. */
  retryStatus?: (status: number) => boolean;
}

/** A server's Retry-After is obeyed up to this long; a longer wait is the back-off's business, not ours. */
const MAX_RETRY_AFTER_MS = 10_000;

/** The wait before retry number `attempt + 1`. */
export function backoff(policy: Pick<RetryPolicy, 'baseMs'>, attempt: number): number {
  return policy.baseMs * 2 ** attempt;
}

/**
 * The retry layer. A request with a buffer body (or none) is sent up to `retries + 1` times; a streamed body cannot
 * be replayed and is sent once. The last response is answered whatever its status, for the caller to judge.
 */
export function withRetry<R extends HttpRequest>(next: RoundTrip<R>, policy: RetryPolicy): RoundTrip<R> {
  const retryError = policy.retryError ?? isTransientNetworkError;
  const retryStatus = policy.retryStatus ?? ((s: number) => s >= 500 || s === 429);
  return async (req) => {
    const attempts = req.body instanceof Readable ? 1 : policy.retries + 1;
    for (let attempt = 0; ; attempt++) {
      const last = attempt + 1 >= attempts;
      let res: HttpResponse;
      try {
        res = await next(req);
      } catch (err) {
        if (last || err instanceof WharfError || !retryError(err)) throw err;
        await sleep(backoff(policy, attempt), policy.signal);
        continue;
      }
      if (last || !retryStatus(res.status)) return res;
      const wait = retryAfterMs(header(res, 'retry-after')) ?? backoff(policy, attempt);
      await discard(res);
      await sleep(Math.min(wait, MAX_RETRY_AFTER_MS), policy.signal);
    }
  };
}

/** `Retry-After: 3` or an HTTP date, in milliseconds from now. */
export function retryAfterMs(v: string | undefined): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}

/** Waits `delayMs`, or fails with CANCELLED as soon as `signal` aborts. */
export const sleep = (delayMs: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new WharfError('CANCELLED', 'cancelled'));
      return;
    }
    const t = setTimeout(resolve, delayMs);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new WharfError('CANCELLED', 'cancelled'));
      },
      { once: true },
    );
  });
