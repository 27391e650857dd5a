import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { tarStream } from './tar-lib.js';

/**
 * A tar stream with every entry's owner changed by `owner` (a remapped container's host ids back to its own, for a
 * `cp` out of it that GNU tar wrote): read with tar-stream and written again, bodies streamed through.
 */
export function reownTar(input: Readable, owner: (uid: number, gid: number) => { uid: number; gid: number }): Readable {
  const ts = tarStream();
  const extract = ts.extract();
  const pack = ts.pack();
  const out = new PassThrough();
  extract.on('entry', (header, body, next) => {
    const { uid, gid } = owner(header.uid ?? 0, header.gid ?? 0);
    const pax = header.pax ? { ...(header.pax as Record<string, string>) } : undefined;
    if (pax) {
      // Big ids travel in PAX records; the new ones go in the header fields (or in PAX again when too big).
      delete pax.uid;
      delete pax.gid;
    }
    const sink = pack.entry({ ...header, uid, gid, ...(pax ? { pax } : {}) }, (err) =>
      err ? extract.destroy(err) : next(),
    );
    body.pipe(sink);
  });
  extract.on('finish', () => pack.finalize());
  pipeline(input, extract).catch((err: Error) => out.destroy(err));
  pack.on('error', (err: Error) => out.destroy(err));
  pack.pipe(out);
  return out;
}
