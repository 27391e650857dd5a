import * as fs from 'node:fs';
import { constants, promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type * as tar from 'tar-stream';
import { Digester, type Digest } from '../digest/index.js';
import { WharfError, isDiskFull, isErrno, withDiskFullPlace } from '../errors/index.js';
import { decompressStream } from './decompress.js';
import { isOverlayWhiteout, makeNode, makeWhiteout, setOpaque, writeXattrs } from './fsmeta.js';
import { normalizeEntryName, resolveInRoot } from './paths.js';
import { xattrsFromPax, type PaxRecords } from './pax.js';
import { tarStream } from './tar-lib.js';

export type WhiteoutFormat = 'overlay' | 'none';

export interface ApplyOptions {
  /**
   * 'overlay': the target is one overlay layer dir; `.wh.x` becomes a 0/0 character device and `.wh..wh..opq` the
   * xattr trusted.overlay.opaque=y. 'none': the target is a flattened rootfs; whiteouts delete from it.
   */
  whiteouts: WhiteoutFormat;
  /** chown to the tar's uid/gid; default: when running as root. */
  sameOwner?: boolean;
  /**
   * Owners on disk from the tar's (or from 0:0 without `sameOwner`): a remapped container's own ids to its host ids
   * (util/idmap.ts). Every entry is chowned then.
   */
  owner?: (uid: number, gid: number) => { uid: number; gid: number };
  signal?: AbortSignal;
  /**
   * The stream is a plain tar (the caller decompressed it, as LayerStore.create does to record tar-split from the
   * same bytes): not sniffed for compression again, which costs two more stream hops for every chunk.
   */
  uncompressed?: boolean;
}

export interface ApplyResult {
  /** sha256 of the uncompressed tar stream. */
  diffId: Digest;
  /** Bytes of the uncompressed tar stream. */
  size: number;
}

type Entry = tar.Extract extends AsyncIterable<infer E> ? E : never;

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_WHITEOUT = '.wh..wh..opq';
const AUFS_META_PREFIX = '.wh..wh.';
const WRITE_BATCH = 1 << 20;
const SUPPORTED_TYPES = new Set<string | null>([
  'file',
  'directory',
  'symlink',
  'link',
  'character-device',
  'block-device',
  'fifo',
]);

interface DirMeta {
  mode: number;
  atime: number;
  mtime: number;
}

function entryTimes(h: tar.Header, pax: PaxRecords | null): { atime: number; mtime: number } {
  const num = (v: string | undefined) =>
    v !== undefined && v !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined;
  const mtime = num(pax?.mtime) ?? (h.mtime ? h.mtime.getTime() / 1000 : 0);
  const atime = num(pax?.atime) ?? mtime;
  return { atime, mtime };
}

function entryOwner(h: tar.Header, pax: PaxRecords | null): { uid: number; gid: number } {
  const id = (v: string | undefined, fallback: number) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : fallback);
  return { uid: id(pax?.uid, h.uid ?? 0), gid: id(pax?.gid, h.gid ?? 0) };
}

/*
 * Per-entry metadata calls (lstat, open, chown, chmod, utimes, mkdir, symlink, link, close) are synchronous on
 * purpose: each takes microseconds on a local disk, while a thread-pool round trip per call made extraction several
 * times slower than GNU tar. File data, removals and anything that can take long stay asynchronous.
 */
function lstatOrNull(p: string): Stats | null {
  return fs.lstatSync(p, { throwIfNoEntry: false }) ?? null;
}

function writev(fd: number, buffers: Buffer[], position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.writev(fd, buffers, position, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

async function writeAll(fd: number, buffers: Buffer[], position: number): Promise<void> {
  let pos = position;
  let rest = buffers;
  while (rest.length > 0) {
    const n = await writev(fd, rest, pos);
    pos += n;
    rest = afterWritten(rest, n);
  }
}

function writeAllSync(fd: number, buffers: Buffer[], position: number): void {
  let pos = position;
  let rest = buffers;
  while (rest.length > 0) {
    const n = fs.writevSync(fd, rest, pos);
    pos += n;
    rest = afterWritten(rest, n);
  }
}

/** What is left of `buffers` after a short write of `n` bytes. */
function afterWritten(buffers: Buffer[], n: number): Buffer[] {
  let skip = n;
  let i = 0;
  while (i < buffers.length && skip >= buffers[i]!.length) skip -= buffers[i++]!.length;
  const rest = buffers.slice(i);
  if (skip > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(skip);
  return rest.filter((b) => b.length > 0);
}

async function drainEntry(entry: Entry): Promise<void> {
  for await (const _ of entry) {
    // discard
  }
}

/** One layer being applied to one target: what it wrote (whiteouts never hide those) and what to finish at the end. */
class Applier {
  readonly #written = new Set<string>();
  readonly #dirs = new Map<string, DirMeta>();
  /** Resolved parent directories by entry-relative path; cleared whenever something is removed. */
  readonly #parents = new Map<string, string>();
  readonly #isRoot = process.getuid?.() === 0;
  readonly #sameOwner: boolean;

  constructor(
    readonly root: string,
    readonly opts: ApplyOptions,
  ) {
    this.#sameOwner = opts.sameOwner ?? this.#isRoot;
  }

  /** The owner an entry gets on disk, or undefined to leave it as created. */
  #ownerOf(h: tar.Header, pax: PaxRecords | null): { uid: number; gid: number } | undefined {
    const o = this.#sameOwner ? entryOwner(h, pax) : undefined;
    if (!this.opts.owner) return o;
    return this.opts.owner(o?.uid ?? 0, o?.gid ?? 0);
  }

  async apply(entry: Entry): Promise<void> {
    const h = entry.header;
    const pax = (h.pax ?? null) as PaxRecords | null;
    const rel = normalizeEntryName(h.name);
    const base = path.posix.basename(rel);
    const first = rel.split('/')[0]!;
    // AUFS bookkeeping (.wh..wh.plnk and friends) is not content; the opaque marker is the one meta name we honour.
    if (base !== OPAQUE_WHITEOUT && (base.startsWith(AUFS_META_PREFIX) || first.startsWith(AUFS_META_PREFIX))) return;

    if (rel === '') {
      if (h.type !== 'directory')
        throw new WharfError(
          'INVALID_ARGUMENT',
          `tar entry ${JSON.stringify(h.name)} names the target root but is not a directory`,
        );
      await this.#finishMeta(this.root, h, pax, 'directory');
      return;
    }

    const parent = await this.#parentDir(path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel));
    if (base === OPAQUE_WHITEOUT) return this.#opaque(parent);
    if (base.startsWith(WHITEOUT_PREFIX)) return this.#whiteout(parent, base.slice(WHITEOUT_PREFIX.length), h, pax);

    const dst = path.join(parent, base);
    const type = h.type === 'contiguous-file' ? 'file' : h.type;
    if (!SUPPORTED_TYPES.has(type)) {
      throw new WharfError(
        'UNSUPPORTED',
        `tar entry ${JSON.stringify(h.name)} has an unsupported type (${String(h.type)})`,
      );
    }
    let linkSource: string | undefined;
    if (type === 'link') {
      linkSource = await this.#hardlinkSource(h.name, h.linkname ?? '');
      if (linkSource === dst) return;
    }

    const existing = lstatOrNull(dst);
    if (existing && !(existing.isDirectory() && type === 'directory')) {
      await fsp.rm(dst, { recursive: true, force: true });
      this.#parents.clear();
    }
    const replacedWhiteout = existing !== null && isOverlayWhiteout(existing);

    switch (type) {
      case 'directory':
        if (!existing?.isDirectory()) fs.mkdirSync(dst, { mode: 0o700 });
        if (replacedWhiteout && this.opts.whiteouts === 'overlay') {
          // As overlayfs does for mkdir over a whiteout: the new directory must hide the lower one's contents.
          await setOpaque(dst);
        }
        await this.#finishMeta(dst, h, pax, 'directory');
        break;
      case 'file':
        await this.#writeFile(dst, entry, h, pax);
        break;
      case 'symlink':
        fs.symlinkSync(h.linkname ?? '', dst);
        await this.#finishMeta(dst, h, pax, 'symlink');
        break;
      case 'link':
        fs.linkSync(linkSource!, dst);
        break;
      case 'character-device':
      case 'block-device':
        // Without root the kernel refuses device nodes; Docker skips them too in that case.
        if (!this.#isRoot) return;
        await makeNode(
          dst,
          type === 'character-device' ? 'c' : 'b',
          h.mode ?? 0o600,
          h.devmajor ?? 0,
          h.devminor ?? 0,
          this.opts.signal,
        );
        await this.#finishMeta(dst, h, pax, 'other');
        break;
      case 'fifo':
        await makeNode(dst, 'p', h.mode ?? 0o600, 0, 0, this.opts.signal);
        await this.#finishMeta(dst, h, pax, 'other');
        break;
      default:
        throw new WharfError(
          'UNSUPPORTED',
          `tar entry ${JSON.stringify(h.name)} has an unsupported type (${String(h.type)})`,
        );
    }
    this.#written.add(dst);
  }

  /** Directory modes and times last, so that writing their contents neither fails nor moves the times. */
  async finish(): Promise<void> {
    for (const [dir, meta] of this.#dirs) {
      const st = lstatOrNull(dir);
      if (!st?.isDirectory()) continue;
      if ((st.mode & 0o7777) !== meta.mode) fs.chmodSync(dir, meta.mode);
      fs.utimesSync(dir, meta.atime, meta.mtime);
    }
  }

  async #parentDir(rel: string): Promise<string> {
    if (rel === '') return this.root;
    const cached = this.#parents.get(rel);
    if (cached) return cached;
    const abs = await resolveInRoot(this.root, rel);
    try {
      const created = fs.mkdirSync(abs, { recursive: true, mode: 0o755 });
      // Directories the layer implies but does not list get 0755 whatever our umask is, as in other layers.
      if (created !== undefined) {
        for (let d = abs; d.length >= created.length; d = path.dirname(d)) fs.chmodSync(d, 0o755);
      }
    } catch (err) {
      if (isErrno(err, 'EEXIST') || isErrno(err, 'ENOTDIR')) {
        throw new WharfError(
          'INVALID_ARGUMENT',
          `cannot create directory ${JSON.stringify(rel)} in the target: a non-directory is in the way`,
        );
      }
      throw err;
    }
    this.#parents.set(rel, abs);
    return abs;
  }

  async #hardlinkSource(name: string, linkname: string): Promise<string> {
    let rel: string;
    try {
      rel = normalizeEntryName(linkname);
    } catch {
      throw new WharfError(
        'INVALID_ARGUMENT',
        `tar entry ${JSON.stringify(name)} is a hardlink to ${JSON.stringify(linkname)}, which escapes the target`,
      );
    }
    if (rel === '')
      throw new WharfError('INVALID_ARGUMENT', `tar entry ${JSON.stringify(name)} is a hardlink to the target root`);
    const dir = path.posix.dirname(rel);
    const src = path.join(await resolveInRoot(this.root, dir === '.' ? '' : dir), path.posix.basename(rel));
    const st = lstatOrNull(src);
    if (!st)
      throw new WharfError(
        'INVALID_ARGUMENT',
        `tar entry ${JSON.stringify(name)} is a hardlink to ${JSON.stringify(linkname)}, which does not exist`,
      );
    if (st.isDirectory())
      throw new WharfError('INVALID_ARGUMENT', `tar entry ${JSON.stringify(name)} is a hardlink to a directory`);
    return src;
  }

  async #writeFile(dst: string, entry: Entry, h: tar.Header, pax: PaxRecords | null): Promise<void> {
    const fd = fs.openSync(
      dst,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      let batch: Buffer[] = [];
      let batched = 0;
      let position = 0;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= WRITE_BATCH) {
          await writeAll(fd, batch, position);
          position += batched;
          batch = [];
          batched = 0;
        }
      }
      // Most files are small: their one write is cheaper done at once than through the thread pool.
      if (batched > 0 && position === 0) writeAllSync(fd, batch, position);
      else if (batched > 0) await writeAll(fd, batch, position);
      // chown clears setuid bits and file capabilities, so: owner, then mode, then xattrs, then times.
      const o = this.#ownerOf(h, pax);
      if (o) fs.fchownSync(fd, o.uid, o.gid);
      fs.fchmodSync(fd, (h.mode ?? 0o644) & 0o7777);
      await writeXattrs(dst, xattrsFromPax(pax));
      const { atime, mtime } = entryTimes(h, pax);
      fs.futimesSync(fd, atime, mtime);
    } finally {
      fs.closeSync(fd);
    }
  }

  async #finishMeta(
    p: string,
    h: tar.Header,
    pax: PaxRecords | null,
    kind: 'directory' | 'symlink' | 'other',
  ): Promise<void> {
    const o = this.#ownerOf(h, pax);
    if (o) fs.lchownSync(p, o.uid, o.gid);
    const mode = (h.mode ?? 0o755) & 0o7777;
    const { atime, mtime } = entryTimes(h, pax);
    if (kind === 'directory') {
      // Keep the directory writable for us until the end; the real mode is set in finish().
      if (!this.#isRoot) fs.chmodSync(p, mode | 0o700);
      this.#dirs.set(p, { mode, atime, mtime });
      await writeXattrs(p, xattrsFromPax(pax));
      return;
    }
    if (kind === 'other') fs.chmodSync(p, mode);
    await writeXattrs(p, xattrsFromPax(pax));
    fs.lutimesSync(p, atime, mtime);
  }

  async #opaque(dir: string): Promise<void> {
    if (this.opts.whiteouts === 'overlay') {
      await setOpaque(dir);
      return;
    }
    // Only what earlier layers put there goes; this layer's own entries stay, wherever the marker came in the tar.
    await this.#removeUnwritten(dir);
    this.#parents.clear();
  }

  async #removeUnwritten(dir: string): Promise<void> {
    for (const name of await fsp.readdir(dir)) {
      const p = path.join(dir, name);
      if (!this.#written.has(p)) await fsp.rm(p, { recursive: true, force: true });
      else if ((await fsp.lstat(p)).isDirectory()) await this.#removeUnwritten(p);
    }
  }

  async #whiteout(parent: string, name: string, h: tar.Header, pax: PaxRecords | null): Promise<void> {
    if (name === '' || name === '.' || name === '..')
      throw new WharfError('INVALID_ARGUMENT', `tar entry ${JSON.stringify(h.name)} is an invalid whiteout`);
    const p = path.join(parent, name);
    // Whiteouts hide what lower layers have, never what this same layer wrote.
    if (this.#written.has(p)) return;
    if (this.opts.whiteouts === 'none') {
      await fsp.rm(p, { recursive: true, force: true });
      this.#parents.clear();
      return;
    }
    if (!this.#isRoot)
      throw new WharfError(
        'FAILED_PRECONDITION',
        `overlay whiteout ${JSON.stringify(h.name)} needs root to create a device node`,
      );
    if (lstatOrNull(p)) {
      await fsp.rm(p, { recursive: true, force: true });
      this.#parents.clear();
    }
    await makeWhiteout(p, this.opts.signal);
    const o = this.#ownerOf(h, pax);
    if (o) await fsp.lchown(p, o.uid, o.gid);
  }
}

function tarError(err: unknown): unknown {
  if (err instanceof WharfError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (/Invalid tar header|Unexpected end of data|Header exceeds max size|Invalid header/.test(msg)) {
    return new WharfError('INVALID_ARGUMENT', `invalid layer tar: ${msg.replace(/\.$/, '')}`, { cause: err });
  }
  return err;
}

/**
 * Apply a layer (compressed or not) to `target`, safe against tar breakouts: names are kept under the target, parent
 * directories are resolved chroot-style so no write goes through a symlink, and hardlinks cannot point outside.
 * The diffID is computed over the uncompressed stream as it is extracted.
 */
export async function applyLayer(layer: Readable, target: string, opts: ApplyOptions): Promise<ApplyResult> {
  const root = path.resolve(target);
  await fsp.mkdir(root, { recursive: true });
  if (opts.signal?.aborted) throw new WharfError('CANCELLED', `applying a layer to ${root} was cancelled`);
  const tarBytes = opts.uncompressed ? layer : await decompressStream(layer);
  const extract = tarStream().extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);
  const digester = new Digester();
  const applier = new Applier(root, opts);

  let firstError: unknown;
  const fail = (err: unknown) => {
    firstError ??= err;
    const error = err instanceof Error ? err : new Error(String(err));
    if (!extract.destroyed) extract.destroy(error);
    // The caller's own stream (uncompressed) is destroyed with the error, so that whatever writes into it hears of
    // it: one destroyed quietly never drains again, and a writer waiting for that keeps the command from finishing.
    if (!tarBytes.destroyed) tarBytes.destroy(opts.uncompressed ? error : undefined);
  };
  const onAbort = () => fail(new WharfError('CANCELLED', `applying a layer to ${root} was cancelled`));
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const feeding = (async () => {
    for await (const chunk of tarBytes as AsyncIterable<Buffer>) {
      digester.update(chunk);
      if (!extract.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            extract.off('drain', done);
            extract.off('close', done);
            resolve();
          };
          extract.on('drain', done);
          extract.on('close', done);
        });
      }
      if (extract.destroyed) return;
    }
    extract.end(undefined);
  })().catch(fail);

  try {
    for await (const entry of extract) {
      try {
        await applier.apply(entry);
        await drainEntry(entry);
      } catch (err) {
        if (firstError !== undefined || err instanceof WharfError) throw err;
        // A full disk is no fault of the layer: said as every full-disk error is, with the entry and the target.
        if (isDiskFull(err)) throw withDiskFullPlace(err, `${JSON.stringify(entry.header.name)} in ${root}`);
        const msg = err instanceof Error ? err.message : String(err);
        throw new WharfError(
          'INTERNAL',
          `cannot apply tar entry ${JSON.stringify(entry.header.name)} to ${root}: ${msg}`,
          { cause: err },
        );
      }
    }
  } catch (err) {
    fail(err);
  }
  await feeding;
  opts.signal?.removeEventListener('abort', onAbort);
  if (firstError !== undefined) throw tarError(firstError);
  await applier.finish();
  return { diffId: digester.digest(), size: digester.size };
}
