import * as fs from 'node:fs';
import { constants } from 'node:fs';
import * as path from 'node:path';
import { Digester, type Digest } from '../digest/index.js';
import { WharfError } from '../errors/index.js';
import { makeNode, makeWhiteout, setOpaque, writeXattrs } from './fsmeta.js';
import { LayerFileWriter } from './layer-file-writer.js';
import { overlayTarEntries, type DiffTarOptions } from './overlay.js';
import { TarWriter, encodeTarHeader, type TarHeader } from './pack.js';
import { XATTR_PREFIX } from './pax.js';
import { tarSplitFileName, type TarSegment } from './tarsplit.js';

export interface UpperCopyResult {
  /** sha256 of the layer tar that overlayDiffTar would stream for the same upper dir. */
  diffId: Digest;
  /** That tar's length in bytes. */
  tarSize: number;
  /** Its tar-split record (header bytes and file references), as TarSplitRecorder would record it. */
  segments: TarSegment[];
}

const BLOCK = 512;
const END_OF_TAR = Buffer.alloc(1024);
const ZEROS = Buffer.alloc(BLOCK);
/** Read and write files in pieces this big: a 100 KB file is one read and one write. */
const CHUNK = 1 << 20;
/**
 * Files (with data) written here before the thread (LayerFileWriter) starts, and bytes of the tar hashed: a small layer
 * (most commits of a config change, a few edited files) is done before a thread would have started. Until then what
 * is to be hashed is kept (the thread must hash the tar from its first byte), so that is bounded too.
 */
const FILES_BEFORE_THREAD = 64;
const BYTES_BEFORE_THREAD = 16 << 20;

/** When copyUpperLayer starts its thread (tests make it start early, late or never). */
export interface UpperCopyTuning {
  filesBeforeThread?: number;
  bytesBeforeThread?: number;
}

interface DirMeta {
  dir: string;
  mode: number;
  mtime: number;
}

/**
 * `commit`'s layer in one pass over an overlay upper dir: each entry's tar header is encoded as overlayDiffTar's
 * would be and hashed, each file is read once into one buffer that is both hashed (as the tar body) and written to
 * `destDir` (an empty overlay layer dir) in one large write, and the tar-split record is built from the same headers.
 * No tar is streamed, parsed or written: the result (files, metadata, whiteouts, opaque dirs; diff ID; tar-split) is
 * what applying overlayDiffTar's tar to `destDir` gives, without the two stream pipelines and the second parse.
 * Run as root (commit pauses the container, so the upper dir holds still). With `destDir` null nothing is
 * written: only the diff ID and tar-split are made (a build step's upper dir, which becomes the layer as it is).
 * Past its first files or megabytes, hashing and plain files go to a thread (LayerFileWriter) while this one walks
 * and reads the next; every file is written before this resolves, and none after it rejects.
 */
export async function copyUpperLayer(
  upperDir: string,
  destDir: string | null,
  opts: DiffTarOptions = {},
  onProgress?: (tarBytes: number) => void,
  tuning: UpperCopyTuning = {},
): Promise<UpperCopyResult> {
  const sink = new LayerSink(destDir !== null, tuning);
  try {
    return await copyWith(upperDir, destDir, opts, onProgress, sink);
  } finally {
    await sink.writer?.close();
  }
}

/**
 * Where the layer tar's bytes are hashed and its plain files written: here, until the thread starts (only when
 * there is a layer to write), then on it. The bytes before that are kept and go to the thread first, so that it
 * hashes the whole tar in order; when no thread starts they are hashed here at the end.
 */
class LayerSink {
  /** Bytes of the tar so far. */
  size = 0;
  writer: LayerFileWriter | null = null;
  readonly #direct: Digester | null;
  #kept: Buffer[] = [];
  #keptBytes = 0;
  #files: number;
  readonly #bytesBefore: number;

  constructor(threaded: boolean, tuning: UpperCopyTuning) {
    this.#direct = threaded ? null : new Digester();
    this.#files = tuning.filesBeforeThread ?? FILES_BEFORE_THREAD;
    this.#bytesBefore = tuning.bytesBeforeThread ?? BYTES_BEFORE_THREAD;
  }

  /** Hash `bytes` next; the caller may reuse them once this resolves. */
  async hash(bytes: Buffer): Promise<void> {
    this.size += bytes.length;
    if (this.#direct) return this.#direct.update(bytes);
    if (this.writer) return this.writer.hash(bytes);
    this.#kept.push(Buffer.from(bytes));
    this.#keptBytes += bytes.length;
    if (this.#keptBytes > this.#bytesBefore) await this.#start();
  }

  /** The thread for the next plain file (which it hashes too), or null: write it here and hash() it. */
  async fileWriter(): Promise<LayerFileWriter | null> {
    if (this.#direct) return null;
    if (!this.writer && this.#files-- > 0) return null;
    if (!this.writer) await this.#start();
    return this.writer;
  }

  async digest(): Promise<Digest> {
    if (this.#direct) return this.#direct.digest();
    if (this.writer) return this.writer.finish();
    const d = new Digester();
    for (const b of this.#kept) d.update(b);
    return d.digest();
  }

  async #start(): Promise<void> {
    const writer = new LayerFileWriter();
    this.writer = writer;
    for (const b of this.#kept) await writer.hash(b);
    this.#kept = [];
  }
}

async function copyWith(
  upperDir: string,
  destDir: string | null,
  opts: DiffTarOptions,
  onProgress: ((tarBytes: number) => void) | undefined,
  sink: LayerSink,
): Promise<UpperCopyResult> {
  const segments: TarSegment[] = [];
  let raw: Buffer[] = [];
  const emitRaw = async (b: Buffer) => {
    raw.push(b);
    await sink.hash(b);
  };
  const flushRaw = () => {
    if (raw.length) segments.push({ raw: Buffer.concat(raw) });
    raw = [];
  };
  const dirs: DirMeta[] = [];
  let buf = Buffer.allocUnsafe(CHUNK);
  const headers = new TarWriter(opts);
  for await (const { header, abs } of overlayTarEntries(upperDir, headers, opts)) {
    const { bytes, settled } = encodeTarHeader(header);
    await emitRaw(bytes);
    if (destDir === null) {
      // Only the diff ID and tar-split (the builder's step, whose upper dir becomes the layer as it is).
      if (header.type === 'file' && settled.size > 0) {
        flushRaw();
        segments.push({ file: tarSplitFileName(header.name), size: settled.size });
        if (settled.size > buf.length) buf = Buffer.allocUnsafe(Math.min(settled.size, CHUNK * 8));
        await copyBody(abs!, null, settled.size, buf, sink);
        const pad = (BLOCK - (settled.size % BLOCK)) % BLOCK;
        if (pad) await emitRaw(ZEROS.subarray(0, pad));
      }
      onProgress?.(sink.size);
      continue;
    }
    const rel = header.name.replace(/\/+$/, '');
    const dst = path.join(destDir, rel);
    const base = path.posix.basename(rel);
    const parent = path.dirname(dst);
    if (base === '.wh..wh..opq') {
      await setOpaque(parent);
      continue;
    }
    if (base.startsWith('.wh.') && abs !== undefined) {
      // A real file named like a whiteout: extraction would turn it into one. Rare; the streamed path handles it.
      throw new WharfError('UNSUPPORTED', `${rel} in the upper dir is named like a whiteout`);
    }
    if (base.startsWith('.wh.')) {
      const hidden = path.join(parent, base.slice(4));
      await makeWhiteout(hidden);
      fs.lchownSync(hidden, header.uid, header.gid);
      continue;
    }
    const mode = settled.mode & 0o7777;
    const mtime = header.mtime.getTime() / 1000;
    const xattrs = xattrsOf(header);
    switch (header.type) {
      case 'directory':
        fs.mkdirSync(dst, { mode: 0o700 });
        fs.lchownSync(dst, header.uid, header.gid);
        await writeXattrs(dst, xattrs);
        dirs.push({ dir: dst, mode, mtime });
        break;
      case 'file': {
        const size = settled.size;
        const writer =
          size > 0 && size <= LayerFileWriter.maxFileSize && xattrs.size === 0 ? await sink.fileWriter() : null;
        if (writer) {
          flushRaw();
          segments.push({ file: tarSplitFileName(header.name), size });
          sink.size += size;
          await writer.add(dst, size, { uid: header.uid, gid: header.gid, mode, mtime }, (into) =>
            readBody(abs!, into),
          );
          const pad = (BLOCK - (size % BLOCK)) % BLOCK;
          if (pad) await emitRaw(ZEROS.subarray(0, pad));
          break;
        }
        if (size > buf.length) buf = Buffer.allocUnsafe(Math.min(size, CHUNK * 8));
        const out = fs.openSync(
          dst,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
          0o600,
        );
        try {
          if (size > 0) {
            flushRaw();
            segments.push({ file: tarSplitFileName(header.name), size });
            await copyBody(abs!, out, size, buf, sink);
            const pad = (BLOCK - (size % BLOCK)) % BLOCK;
            if (pad) await emitRaw(ZEROS.subarray(0, pad));
          }
          fs.fchownSync(out, header.uid, header.gid);
          fs.fchmodSync(out, mode);
          await writeXattrs(dst, xattrs);
          fs.futimesSync(out, mtime, mtime);
        } finally {
          fs.closeSync(out);
        }
        break;
      }
      case 'link':
        // Its target may still be on its way to the thread.
        await sink.writer?.drain();
        fs.linkSync(path.join(destDir, header.linkname!), dst);
        break;
      case 'symlink':
        fs.symlinkSync(header.linkname!, dst);
        fs.lchownSync(dst, header.uid, header.gid);
        await writeXattrs(dst, xattrs);
        fs.lutimesSync(dst, mtime, mtime);
        break;
      case 'character-device':
      case 'block-device':
      case 'fifo':
        await makeNode(
          dst,
          header.type === 'fifo' ? 'p' : header.type === 'character-device' ? 'c' : 'b',
          mode,
          header.devmajor ?? 0,
          header.devminor ?? 0,
        );
        fs.lchownSync(dst, header.uid, header.gid);
        fs.chmodSync(dst, mode);
        await writeXattrs(dst, xattrs);
        fs.lutimesSync(dst, mtime, mtime);
        break;
    }
    onProgress?.(sink.size);
  }
  await emitRaw(END_OF_TAR);
  flushRaw();
  const diffId = await sink.digest();
  // Directory modes and times last, so that filling them neither fails nor moves the times (as layer extraction).
  for (const d of dirs) {
    fs.chmodSync(d.dir, d.mode);
    fs.utimesSync(d.dir, d.mtime, d.mtime);
  }
  return { diffId, tarSize: sink.size, segments };
}

function xattrsOf(h: TarHeader): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(h.pax ?? {})) {
    if (k.startsWith(XATTR_PREFIX))
      out.set(k.slice(XATTR_PREFIX.length), Buffer.isBuffer(v) ? v : Buffer.from(String(v)));
  }
  return out;
}

/** Read the first `into.length` bytes of `src` into `into`; the file must still have them. */
function readBody(src: string, into: Buffer): void {
  const fd = fs.openSync(src, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let pos = 0;
    while (pos < into.length) {
      const n = fs.readSync(fd, into, pos, into.length - pos, pos);
      if (n === 0) break;
      pos += n;
    }
    if (pos !== into.length)
      throw new WharfError('CONFLICT', `${src} changed while being committed (${pos} of ${into.length} bytes read)`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Copy the first `size` bytes of `src` to `out` (or nowhere), hashing them; the file must still have them. */
async function copyBody(src: string, out: number | null, size: number, buf: Buffer, sink: LayerSink): Promise<void> {
  const fd = fs.openSync(src, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let pos = 0;
    while (pos < size) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
      if (n === 0) break;
      const piece = buf.subarray(0, n);
      await sink.hash(piece);
      let w = 0;
      while (out !== null && w < n) w += fs.writeSync(out, piece, w, n - w, pos + w);
      pos += n;
    }
    if (pos !== size)
      throw new WharfError('CONFLICT', `${src} changed while being committed (${pos} of ${size} bytes read)`);
  } finally {
    fs.closeSync(fd);
  }
}
