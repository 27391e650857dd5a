import { PassThrough, pipeline, type Readable } from 'node:stream';
import { MAX_OCTAL_ID } from './pack.js';
import { paxValueBytes, XATTR_PREFIX, type PaxRecords } from './pax.js';
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
    const inPax = (header.pax ?? {}) as PaxRecords;
    // Records written back as their raw bytes (an xattr such as security.capability is binary), ids as text.
    const pax: Record<string, string | Buffer> = {};
    for (const k of Object.keys(inPax)) pax[k] = k.startsWith(XATTR_PREFIX) ? paxValueBytes(inPax, k) : inPax[k]!;
    // tar-stream leaves PAX ids in the records, not in the header's fields.
    const { uid, gid } = owner(Number(inPax.uid ?? header.uid ?? 0), Number(inPax.gid ?? header.gid ?? 0));
    // Big ids travel in PAX records (the header's octal fields hold at most MAX_OCTAL_ID, as TarWriter writes them).
    const ids = { uid, gid };
    for (const k of ['uid', 'gid'] as const) {
      delete pax[k];
      if (ids[k] > MAX_OCTAL_ID) {
        pax[k] = String(ids[k]);
        ids[k] = 0;
      }
    }
    const sink = pack.entry({ ...header, ...ids, pax: Object.keys(pax).length ? pax : undefined }, (err) =>
      err ? extract.destroy(err) : next(),
    );
    body.pipe(sink);
  });
  extract.on('finish', () => pack.finalize());
  // Errors of either end go to `out`; stream.pipeline (not its promise form, which loads node:stream/promises at
  // start-up for every command) also destroys the other end.
  pipeline(input, extract, (err) => {
    if (err) out.destroy(err);
  });
  pack.on('error', (err: Error) => out.destroy(err));
  pack.pipe(out);
  return out;
}
