import { Readable } from 'node:stream';
import { WharfError, is } from '../errors/index.js';
import { isTransientNetworkError, networkError } from './errors.js';
import { parseContentRange } from './links.js';
import { backoff, sleep, type RetryPolicy } from './retry.js';
import { header, type HttpResponse } from './transport.js';

export interface ResumableReadOptions {
  /** Start at this byte (to resume an earlier partial download). */
  start?: number;
  /** The blob's size when known (from a descriptor): a response that ends short is resumed. */
  size?: number;
  /** How many times a dropped connection is resumed with Range before giving up. Default 5. */
  maxResumes?: number;
  /** Told of each resume, for progress displays and tests. */
  onResume?: (offset: number, cause: unknown) => void;
}

export interface ResumableSource {
  /** What is read, for error messages ('blob sha256:… in host/repo'). */
  what: string;
  /** The host named when the connection fails for good. */
  host: string;
  /** Sends the GET: with `Range: bytes=<offset>-` when offset > 0; answers 200 or 206, or throws a typed error. */
  open(offset: number): Promise<HttpResponse>;
  /** The back-off between resumes (its `retries` is not used: `maxResumes` bounds them). */
  retry: Pick<RetryPolicy, 'baseMs' | 'signal'>;
}

/** A resume that made this much progress does not count against the limit of a slowly failing link. */
const PROGRESS_FORGIVES = 1 << 20;

/**
 * The resumable-read layer: bytes from `start`, as a stream that survives dropped connections. It reconnects with
 * `Range: bytes=<offset>-` (skipping bytes itself when the server ignores Range and answers 200) up to `maxResumes`
 * times; an UNAVAILABLE failure to reconnect counts as one resume. The caller verifies the digest.
 */
export function resumableRead(src: ResumableSource, opts: ResumableReadOptions = {}): Readable {
  const maxResumes = opts.maxResumes ?? 5;
  const pause = (n: number) => sleep(backoff(src.retry, Math.min(n, 4)), src.retry.signal);
  async function* chunks(): AsyncGenerator<Buffer> {
    let offset = opts.start ?? 0;
    let resumes = 0;
    let total = opts.size;
    if (total !== undefined && offset >= total) return;
    for (;;) {
      let res: HttpResponse;
      try {
        res = await src.open(offset);
      } catch (err) {
        if (!is(err, 'UNAVAILABLE') || resumes >= maxResumes) throw err;
        resumes++;
        opts.onResume?.(offset, err);
        await pause(resumes);
        continue;
      }
      let skip = 0;
      let end: number | undefined;
      const len = Number(header(res, 'content-length'));
      if (res.status === 206) {
        const cr = parseContentRange(header(res, 'content-range'));
        if (!cr || cr.start !== offset) {
          res.body.destroy();
          throw new WharfError(
            'UNAVAILABLE',
            `${src.what}: registry answered Range ${offset}- with ${header(res, 'content-range') ?? 'no Content-Range'}`,
          );
        }
        if (cr.total !== undefined) total ??= cr.total;
        end = cr.end + 1;
      } else {
        // 200: the whole blob, whatever we asked for.
        skip = offset;
        if (Number.isFinite(len)) {
          end = len;
          total ??= len;
        }
      }
      let progressed = 0;
      try {
        for await (const c of res.body) {
          let b = c as Buffer;
          if (skip > 0) {
            if (b.length <= skip) {
              skip -= b.length;
              continue;
            }
            b = b.subarray(skip);
            skip = 0;
          }
          offset += b.length;
          progressed += b.length;
          yield b;
        }
        const want = total ?? end;
        if (want === undefined || offset >= want) return;
        throw Object.assign(new Error(`${src.what}: connection closed at byte ${offset} of ${want}`), {
          code: 'ECONNRESET',
        });
      } catch (err) {
        res.body.destroy();
        if (!isTransientNetworkError(err) && (err as Error).message !== 'aborted') throw networkError(src.host, err);
        if (progressed >= PROGRESS_FORGIVES && resumes > 0) resumes--;
        if (resumes >= maxResumes) throw networkError(src.host, err);
        resumes++;
        opts.onResume?.(offset, err);
        await pause(resumes - 1);
      }
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}
