import * as fs from 'node:fs';
import { constants, promises as fsp, type Stats } from 'node:fs';
import { Readable } from 'node:stream';
import type * as tar from 'tar-stream';
import { WharfError } from '../errors/index.js';
import { major, minor, readXattrs } from './fsmeta.js';
import { XATTR_PREFIX, type PaxInput } from './pax.js';
import { tarStream } from './tar-lib.js';
import { walkTree } from './walk.js';

export interface TarOptions {
  /** SOURCE_DATE_EPOCH style: mtimes later than this are clamped to it. */
  clampMtime?: Date;
  /** Force every mtime to this. */
  mtime?: Date;
  /** Owners as written, from the files' (a remapped container's host ids back to its own: util/idmap.ts). */
  owner?: (uid: number, gid: number) => { uid: number; gid: number };
}

export interface TarHeader {
  name: string;
  type: 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  pax?: PaxInput;
}

export const MAX_OCTAL_ID = 0o777777; // what tar-stream's ustar encoder fits in the uid/gid fields
const MAX_USTAR_SECONDS = 2 ** 31 - 1; // tar-stream's encoder truncates seconds to int32

/** mtime as written: whole seconds (as Docker), then forced or clamped. */
export function tarMtime(st: Stats, opts: TarOptions): Date {
  if (opts.mtime) return new Date(Math.floor(opts.mtime.getTime() / 1000) * 1000);
  let ms = Math.floor(st.mtimeMs / 1000) * 1000;
  if (opts.clampMtime && ms > opts.clampMtime.getTime()) ms = Math.floor(opts.clampMtime.getTime() / 1000) * 1000;
  return new Date(ms);
}

/**
 * A deterministic tar writer over tar-stream: uname/gname empty, PAX only where needed (long or non-ASCII names,
 * xattrs, big ids), hardlinks by dev+ino, file bodies streamed from disk.
 */
export class TarWriter {
  readonly #pack = tarStream().pack();
  readonly #links = new Map<string, string>();
  readonly output: Readable;

  constructor(readonly opts: TarOptions = {}) {
    this.output = Readable.from(this.#pack, { objectMode: false });
  }

  /** Run `produce` to add entries, then finish the archive; any failure ends the output with that error. */
  run(produce: (w: TarWriter) => Promise<void>): Readable {
    produce(this).then(
      () => this.#pack.finalize(),
      (err: unknown) => {
        if (!this.#pack.destroyed) this.#pack.destroy(err instanceof Error ? err : new Error(String(err)));
      },
    );
    return this.output;
  }

  /** Add what is at `abs` (already lstat'ed) under the tar name `name`. Sockets are skipped, as Docker does. */
  async addPath(abs: string, st: Stats, name: string): Promise<void> {
    const header = this.headerFor(abs, st, name);
    if (header) await this.addWithBodyFrom(header, abs);
  }

  /** Add `header`, a file's body read from `abs`. */
  async addWithBodyFrom(header: TarHeader, abs: string | undefined): Promise<void> {
    if (header.type !== 'file' || header.size === 0 || abs === undefined) return this.add(header);
    if (header.size <= SMALL_FILE) return this.add(header, readSmallFile(abs, header.size));
    return this.add(header, abs);
  }

  /**
   * The entry for what is at `abs` (already lstat'ed) under the tar name `name`, or undefined for a socket; a file's
   * body is the first `size` bytes of `abs`. Remembers hardlinks: call once per path, in archive order.
   */
  headerFor(abs: string, st: Stats, name: string): TarHeader | undefined {
    const base = {
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      size: 0,
      mtime: tarMtime(st, this.opts),
    };
    let header: TarHeader;
    if (st.isDirectory()) header = { ...base, name: `${name}/`, type: 'directory' };
    else if (st.isSymbolicLink()) header = { ...base, name, type: 'symlink', linkname: fs.readlinkSync(abs) };
    else if (st.isCharacterDevice() || st.isBlockDevice()) {
      header = {
        ...base,
        name,
        type: st.isCharacterDevice() ? 'character-device' : 'block-device',
        devmajor: major(st.rdev),
        devminor: minor(st.rdev),
      };
    } else if (st.isFIFO()) header = { ...base, name, type: 'fifo' };
    else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? this.#links.get(key) : undefined;
      if (first !== undefined) header = { ...base, name, type: 'link', linkname: first };
      else {
        if (st.nlink > 1) this.#links.set(key, name);
        header = { ...base, name, type: 'file', size: st.size };
      }
    } else return undefined;
    const xattrs = readXattrs(abs);
    if (xattrs.length > 0) header.pax = Object.fromEntries(xattrs.map(([k, v]) => [XATTR_PREFIX + k, v]));
    return header;
  }

  /** Add one entry; the body is given, or is the first `header.size` bytes of the file at `bodyFrom`. */
  async add(header: TarHeader, bodyFrom?: string | Buffer): Promise<void> {
    const h = packHeader(header, this.opts.owner);
    const done = new Promise<void>((resolve, reject) => {
      const sink = this.#pack.entry(h as Partial<tar.Header> & { name: string }, (err) =>
        err ? reject(err) : resolve(),
      );
      // Failures reach us through the callback above; without a listener a stopped consumer would crash the process.
      sink.on('error', () => {});
      if (h.type !== 'file') return;
      if (h.size === 0 || bodyFrom === undefined) {
        sink.end(undefined);
        return;
      }
      if (Buffer.isBuffer(bodyFrom)) {
        sink.end(bodyFrom);
        return;
      }
      writeBody(sink, bodyFrom, h.size).catch((err: unknown) => {
        sink.destroy(err instanceof Error ? err : new Error(String(err)));
        reject(err);
      });
    });
    await done;
  }
}

type Sink = ReturnType<tar.Pack['entry']>;
type PackHeader = TarHeader & { uname: string; gname: string };

/** The header as TarWriter hands it to tar-stream: no user/group names, PAX records for what ustar cannot hold. */
function packHeader(header: TarHeader, owner?: TarOptions['owner']): PackHeader {
  const h = { ...header, uname: '', gname: '', pax: header.pax ? { ...header.pax } : undefined } as PackHeader;
  if (owner) Object.assign(h, owner(h.uid, h.gid));
  for (const id of ['uid', 'gid'] as const) {
    if (h[id] > MAX_OCTAL_ID) {
      h.pax = { ...h.pax, [id]: String(h[id]) };
      h[id] = 0 as number;
    }
  }
  const secs = h.mtime.getTime() / 1000;
  if (secs < 0 || secs > MAX_USTAR_SECONDS) {
    h.pax = { ...h.pax, mtime: String(Math.floor(secs)) };
    h.mtime = new Date(secs < 0 ? 0 : MAX_USTAR_SECONDS * 1000);
  }
  if (!h.pax) delete h.pax;
  return h;
}

interface PackInternals {
  _encode(header: Partial<tar.Header>): void;
  push(chunk: Buffer | null): boolean;
}
let headerPack: PackInternals | undefined;

/**
 * The bytes TarWriter writes before an entry's body (PAX header, its padding, the ustar header), for code that writes
 * the body itself (the one-pass commit in upper-copy.ts): tar-stream's own encoder, called the way its Pack.entry
 * calls it, so both paths give the same bytes and the same diff ID. Also returns the header as tar-stream settled it
 * (a zero mode becomes 0644/0755 there, as in the tar).
 */
export function encodeTarHeader(header: TarHeader): { bytes: Buffer; settled: PackHeader } {
  const h = packHeader(header);
  // Pack.entry's defaults.
  if (!h.size || h.type === 'symlink') h.size = 0;
  if (!h.mode) h.mode = h.type === 'directory' ? 0o755 : 0o644;
  if (h.type === 'symlink' && !h.linkname)
    throw new WharfError('INTERNAL', `symlink ${h.name} has an empty target: not encodable without a body`);
  if (!headerPack) {
    const pack = tarStream().pack() as unknown as PackInternals;
    if (typeof pack._encode !== 'function')
      throw new WharfError('INTERNAL', 'tar-stream Pack has no _encode: its version is not supported');
    headerPack = pack;
  }
  const out: Buffer[] = [];
  const pack = headerPack;
  const push = pack.push;
  pack.push = (chunk) => {
    if (chunk) out.push(Buffer.from(chunk));
    return true;
  };
  try {
    pack._encode(h as Partial<tar.Header>);
  } finally {
    pack.push = push;
  }
  return { bytes: Buffer.concat(out), settled: h };
}

/** Files up to this size are read in one synchronous call: cheaper than a stream, and bounded. */
const SMALL_FILE = 256 * 1024;

function readSmallFile(file: string, size: number): Buffer {
  const fd = fs.openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = fs.readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    if (got !== size)
      throw new WharfError('CONFLICT', `${file} changed while being archived (${got} of ${size} bytes read)`);
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

async function writeBody(sink: Sink, file: string, size: number): Promise<void> {
  const fh = await fsp.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const src = fh.createReadStream({ start: 0, end: size - 1, autoClose: false });
    let written = 0;
    for await (const chunk of src as AsyncIterable<Buffer>) {
      written += chunk.length;
      if (!sink.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            sink.off('drain', done);
            sink.off('close', done);
            sink.off('error', done);
            resolve();
          };
          sink.on('drain', done);
          sink.on('close', done);
          sink.on('error', done);
        });
      }
      if (sink.destroyed || sink.destroying) throw new WharfError('CANCELLED', `archiving ${file} was stopped`);
    }
    if (written !== size) {
      throw new WharfError('CONFLICT', `${file} changed while being archived (${written} of ${size} bytes read)`);
    }
    sink.end(undefined);
  } finally {
    await fh.close();
  }
}

/**
 * A deterministic tar of the whole tree below `dir` (the directory itself is not an entry): depth first, siblings
 * sorted by name bytes, each directory before its contents; uid/gid/mode/mtime/xattrs kept, hardlinks by dev+ino.
 */
export function tarDirectory(dir: string, opts: TarOptions = {}): Readable {
  return new TarWriter(opts).run(async (w) => {
    for await (const e of walkTree(dir)) await w.addPath(e.abs, e.st, e.rel);
  });
}
