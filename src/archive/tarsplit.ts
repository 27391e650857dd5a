/**
 * Tar-split: record a layer tar's exact bytes minus the file contents, so that the identical tar (same diffID) can be
 * rebuilt later from the unpacked layer directory. This is what lets Wharf keep each layer only once on disk (unpacked)
 * and still `save` or `push` byte-identical layers, as Docker's classic store does with vbatts/tar-split.
 *
 * We parse the tar block structure ourselves rather than through tar-stream because we need the raw header bytes
 * (PAX records, GNU long names, padding, end-of-archive blocks) that a tar parser normalises away.
 */
import { Writable, Readable, pipeline, type WritableOptions } from 'node:stream';
import { createReadStream, promises as fsp } from 'node:fs';
import type { Socket } from 'node:net';
import * as path from 'node:path';
import type * as Zlib from 'node:zlib';
import { canSendFile, drained, lazyBuiltin, sendFileToSocket } from '../util/index.js';
import { WharfError } from '../errors/index.js';
import { resolveInRoot } from './paths.js';

const zlib = lazyBuiltin<typeof Zlib>('node:zlib');

export type TarSegment = { raw: Buffer } | { file: string; size: number };

const BLOCK = 512;

function parseNumeric(field: Buffer): number {
  // Base-256 (GNU) for large values: high bit of the first byte set.
  if (field[0]! & 0x80) {
    let v = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) v = v * 256 + field[i]!;
    return v;
  }
  const s = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function cString(b: Buffer): string {
  const i = b.indexOf(0);
  return b.subarray(0, i < 0 ? b.length : i).toString('utf8');
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    if (sp < 0) break;
    const len = parseInt(data.subarray(off, sp).toString('latin1'), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const rec = data.subarray(sp + 1, off + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    off += len;
  }
  return out;
}

/** Normalise an entry name the way layer extraction does, so it names the file on disk. */
export function tarSplitFileName(name: string): string {
  return path.posix
    .normalize('/' + name)
    .replace(/^\/+/, '')
    .replace(/\/+$/, '');
}

/**
 * A Writable that consumes an uncompressed tar stream and collects its segments; read `segments()` after 'finish'.
 * Duplicate regular-file names make a tar non-reconstructible (the earlier content is gone from disk): see
 * `reproducible`.
 */
export class TarSplitRecorder extends Writable {
  readonly #segments: TarSegment[] = [];
  #pendingRaw: Buffer[] = [];
  #buf: Buffer = Buffer.alloc(0);
  // Where we are: in a header, in metadata data (PAX/GNU, kept raw), in file data (skipped), in padding, or past the end.
  #state: 'header' | 'meta' | 'file' | 'pad' | 'trailer' = 'header';
  #remaining = 0;
  #padding = 0;
  #metaType = '';
  #metaBuf: Buffer[] = [];
  #longName: string | undefined;
  #paxPath: string | undefined;
  #globalPaxPath: string | undefined;
  readonly #seenFiles = new Set<string>();
  reproducible = true;

  constructor(opts?: WritableOptions) {
    super(opts);
  }

  #raw(b: Buffer): void {
    if (b.length) this.#pendingRaw.push(Buffer.from(b));
  }

  #flushRaw(): void {
    if (this.#pendingRaw.length) {
      this.#segments.push({ raw: Buffer.concat(this.#pendingRaw) });
      this.#pendingRaw = [];
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    try {
      this.#consume(chunk);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  #consume(chunk: Buffer): void {
    let data = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    this.#buf = Buffer.alloc(0);
    while (data.length) {
      switch (this.#state) {
        case 'trailer':
          this.#raw(data);
          return;
        case 'header': {
          if (data.length < BLOCK) {
            this.#buf = Buffer.from(data);
            return;
          }
          const h = data.subarray(0, BLOCK);
          data = data.subarray(BLOCK);
          this.#raw(h);
          if (h.every((x) => x === 0)) {
            // End-of-archive blocks and anything after them are kept verbatim.
            this.#state = 'trailer';
            break;
          }
          this.#header(h);
          break;
        }
        case 'meta':
        case 'file': {
          const n = Math.min(this.#remaining, data.length);
          const part = data.subarray(0, n);
          if (this.#state === 'meta') {
            this.#raw(part);
            this.#metaBuf.push(Buffer.from(part));
          }
          this.#remaining -= n;
          data = data.subarray(n);
          if (this.#remaining === 0) {
            if (this.#state === 'meta') this.#finishMeta();
            this.#state = this.#padding ? 'pad' : 'header';
            this.#remaining = this.#padding;
          }
          break;
        }
        case 'pad': {
          const n = Math.min(this.#remaining, data.length);
          this.#raw(data.subarray(0, n));
          this.#remaining -= n;
          data = data.subarray(n);
          if (this.#remaining === 0) this.#state = 'header';
          break;
        }
      }
    }
  }

  #header(h: Buffer): void {
    const type = String.fromCharCode(h[156]!);
    const size = parseNumeric(h.subarray(124, 136));
    const magic = h.subarray(257, 263).toString('latin1');
    let name = cString(h.subarray(0, 100));
    if (magic === 'ustar\u0000') {
      const prefix = cString(h.subarray(345, 500));
      if (prefix) name = `${prefix}/${name}`;
    }
    this.#padding = (BLOCK - (size % BLOCK)) % BLOCK;
    this.#remaining = size;
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      this.#metaType = type;
      this.#metaBuf = [];
      if (size > 0) this.#state = 'meta';
      else this.#finishMeta();
      return;
    }
    const entryName = this.#paxPath ?? this.#longName ?? this.#globalPaxPath ?? name;
    this.#paxPath = undefined;
    this.#longName = undefined;
    const isFile = type === '0' || type === '\0' || type === '7';
    if (isFile && size > 0) {
      this.#flushRaw();
      const file = tarSplitFileName(entryName);
      if (this.#seenFiles.has(file)) this.reproducible = false;
      this.#seenFiles.add(file);
      this.#segments.push({ file, size });
      this.#state = 'file';
    } else if (size > 0) {
      // Data on a non-file entry is unusual; keep it verbatim so the tar still round-trips.
      this.#metaType = '';
      this.#metaBuf = [];
      this.#state = 'meta';
    }
  }

  #finishMeta(): void {
    const data = Buffer.concat(this.#metaBuf);
    if (this.#metaType === 'L') this.#longName = cString(data);
    else if (this.#metaType === 'x') {
      const p = parsePax(data).path;
      if (p !== undefined) this.#paxPath = p;
    } else if (this.#metaType === 'g') {
      const p = parsePax(data).path;
      if (p !== undefined) this.#globalPaxPath = p;
    }
    this.#metaBuf = [];
    this.#metaType = '';
  }

  override _final(cb: (err?: Error | null) => void): void {
    // A truncated tar keeps what we have; extraction reports the real error.
    this.#raw(this.#buf);
    this.#buf = Buffer.alloc(0);
    this.#flushRaw();
    cb();
  }

  segments(): TarSegment[] {
    return this.#segments;
  }
}

/** Lines go to gzip in pieces of about this many characters (see serializeTarSplit). */
const SERIALIZE_PIECE = 1 << 20;

/**
 * Serialise segments as gzip'd JSON lines (`{"r":base64}` / `{"f":name,"s":size}`). The lines are written to gzip
 * joined in ~1 MiB pieces: one write per line was one zlib job (a thread-pool round trip) each, ~4,000 of them for a
 * commit of 2,000 files, which took longer than the deflate itself. The gzip bytes do not change: deflate without
 * flushes gives the same output however its input is cut.
 */
export function serializeTarSplit(segments: TarSegment[]): Readable {
  return Readable.from(
    (function* () {
      let lines: string[] = [];
      let length = 0;
      for (const s of segments) {
        const line =
          'raw' in s
            ? JSON.stringify({ r: s.raw.toString('base64') }) + '\n'
            : JSON.stringify({ f: s.file, s: s.size }) + '\n';
        lines.push(line);
        length += line.length;
        if (length >= SERIALIZE_PIECE) {
          yield lines.join('');
          lines = [];
          length = 0;
        }
      }
      if (lines.length > 0) yield lines.join('');
    })(),
  ).pipe(zlib().createGzip({ level: 6 }));
}

async function* readSegments(src: Readable): AsyncGenerator<TarSegment> {
  let rest = '';
  // pipeline, not pipe: a read error of `src` fails the loop (pipe would leave it waiting), and a consumer that stops
  // early (a push whose upload failed) destroys `src` too (its file descriptor).
  const gunzip = zlib().createGunzip();
  pipeline(src, gunzip, () => {});
  for await (const chunk of gunzip) {
    rest += (chunk as Buffer).toString('utf8');
    for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n')) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (!line) continue;
      const o = JSON.parse(line) as { r?: string; f?: string; s?: number };
      if (o.r !== undefined) yield { raw: Buffer.from(o.r, 'base64') };
      else yield { file: o.f!, size: o.s! };
    }
  }
}

/**
 * Rebuild the original tar from a tar-split stream and the unpacked layer directory. Fails with INTERNAL if a file
 * no longer has the recorded size (the layer directory was modified), rather than emitting a different tar.
 */
export function reconstructTar(tarSplit: Readable, layerDir: string): Readable {
  return Readable.from(
    (async function* () {
      for await (const seg of readSegments(tarSplit)) {
        if ('raw' in seg) {
          yield seg.raw;
          continue;
        }
        let sent = 0;
        // Resolved like extraction did (symlinks inside the layer, as if it were /): never read outside the layer.
        const file = await resolveInRoot(layerDir, seg.file);
        // 1 MiB reads: a push or save reads every layer byte through here, and 64 KiB ones cost 16 times the calls.
        for await (const c of createReadStream(file, { start: 0, end: seg.size - 1, highWaterMark: 1 << 20 })) {
          sent += (c as Buffer).length;
          yield c as Buffer;
        }
        if (sent !== seg.size) throw changedOnDisk(seg.file, seg.size, sent);
      }
    })(),
  );
}

const changedOnDisk = (name: string, size: number, found: number): WharfError =>
  new WharfError('INTERNAL', `layer file ${name} changed on disk: expected ${size} bytes, found ${found}`);

/** Files from this size on go by sendfile(2) in writeTarTo; smaller ones are read and batched with the headers. */
const SENDFILE_FROM = 256 * 1024;
/** writeTarTo's batches of headers and small files: one write(2) each. */
const BATCH = 1 << 20;

/**
 * reconstructTar's tar, written into a socket or pipe (a compressor's stdin) instead of returned as a stream: the
 * contents of large files go from the page cache to the pipe by sendfile(2) (util/sendfile.ts), so a push's hundreds
 * of MB are neither read into buffers nor written back by Node (two copies, and the garbage collections the buffers
 * cause: a fifth of a push's CPU before). Same bytes and the same check that a file still has its recorded size.
 * Resolves once everything is handed to the sink (not ended); a sink that fails or closes rejects.
 */
export async function writeTarTo(tarSplit: Readable, layerDir: string, sink: Socket): Promise<void> {
  let batch: Buffer[] = [];
  let batched = 0;
  const flush = async (): Promise<void> => {
    if (batched === 0) return;
    if (sink.destroyed) throw new WharfError('UNAVAILABLE', "the tar's reader went away");
    sink.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch, batched));
    batch = [];
    batched = 0;
    await drained(sink);
  };
  const add = async (piece: Buffer): Promise<void> => {
    batch.push(piece);
    batched += piece.length;
    if (batched >= BATCH) await flush();
  };
  for await (const seg of readSegments(tarSplit)) {
    if ('raw' in seg) {
      await add(seg.raw);
      continue;
    }
    if (seg.size === 0) continue;
    const fh = await fsp.open(await resolveInRoot(layerDir, seg.file), 'r'); // as reconstructTar resolves it
    try {
      if (seg.size < SENDFILE_FROM || !canSendFile(sink)) {
        for (let off = 0; off < seg.size; ) {
          const want = Math.min(seg.size - off, BATCH);
          const { bytesRead, buffer } = await fh.read(Buffer.allocUnsafe(want), 0, want, off);
          if (bytesRead === 0) throw changedOnDisk(seg.file, seg.size, off);
          await add(bytesRead === want ? buffer : buffer.subarray(0, bytesRead));
          off += bytesRead;
        }
        continue;
      }
      await flush(); // sendFileToSocket writes after what Node has queued, so the order holds
      const sent = await sendFileToSocket(sink, fh.fd, 0, seg.size).catch(
        (err: { code?: string; bytesSent?: number }) => {
          // The file ended early (it shrank): say so as reconstructTar does; anything else is the sink's failure.
          if (err.code === 'EOF') throw changedOnDisk(seg.file, seg.size, err.bytesSent ?? 0);
          throw err;
        },
      );
      if (sent !== seg.size) throw changedOnDisk(seg.file, seg.size, sent);
    } finally {
      await fh.close();
    }
  }
  await flush();
}
