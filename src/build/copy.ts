import { createHash } from '../digest/index.js';
import { createReadStream, promises as fsp, readFileSync, type Stats } from 'node:fs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WharfError, isErrno } from '../errors/index.js';
import { applyLayer, decompressStream, detectCompression, resolveInRoot } from '../archive/index.js';
import { walkTree } from '../archive/walk.js';
import { parseGroup, parsePasswd } from '../runtime/index.js';

/**
 * COPY and ADD: choosing the source files (wildcards, .dockerignore), the content checksum that keys the cache, and
 * copying into a mounted rootfs as Docker's classic builder does.
 */

/** Where sources come from: the context (with its ignore rules) or another stage's / image's rootfs. */
export interface SourceRoot {
  root: string;
  /** Whether a walk keeps `rel`; a directory that returns true is entered. */
  include: (rel: string, isDir: boolean) => boolean;
  /** Whether `rel` itself is hidden (a named source that is hidden does not exist). */
  hidden: (rel: string) => boolean;
  /** 'context' words errors as Docker does for the build context. */
  kind: 'context' | 'stage';
  /** Remembers file digests between builds (the context only). */
  digests?: DigestMemo;
}

/** A digest remembered for a file whose inode, size and times have not changed since it was hashed. */
export interface DigestMemo {
  get(abs: string, st: Stats): string | undefined;
  set(abs: string, st: Stats, digest: string): void;
}

export interface SelectedSource {
  /** The path as written. */
  orig: string;
  /** Relative to the source root. */
  rel: string;
  abs: string;
  st: Stats;
  /** `file:<hex>` or `dir:<hex>`: content and metadata, never mtimes. */
  hash: string;
}

const WILDCARD = /[*?[]/;

function failed(cmd: string, msg: string, code: 'NOT_FOUND' | 'INVALID_ARGUMENT' = 'NOT_FOUND'): WharfError {
  return new WharfError(code, `${cmd} failed: ${msg}`);
}

/** Go's filepath.Match over '/'-separated paths (no `**`). */
export function goPathMatch(pattern: string, name: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) return false;
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^')) cls = `^${cls.slice(1)}`;
      re += `[${cls}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 's').test(name);
}

/** Clean a source as Docker does and refuse one that climbs out of the root. */
function cleanSource(cmd: string, orig: string): string {
  const n = path.posix.normalize(`/${orig}`).slice(1);
  const climbs = path.posix.normalize(orig).split('/')[0] === '..';
  if (climbs) throw failed(cmd, `forbidden path outside the build context: ${orig} ()`, 'INVALID_ARGUMENT');
  return n.replace(/\/+$/, '');
}

export async function selectSources(cmd: string, src: SourceRoot, origs: readonly string[]): Promise<SelectedSource[]> {
  const out: SelectedSource[] = [];
  for (const orig of origs) {
    const rel = cleanSource(cmd, orig);
    if (WILDCARD.test(rel)) {
      const matches: SelectedSource[] = [];
      for await (const e of walkTree(src.root, { include: (x) => src.include(x.rel, x.st.isDirectory()) })) {
        if (!src.hidden(e.rel) && goPathMatch(rel, e.rel))
          matches.push({ orig, rel: e.rel, abs: e.abs, st: e.st, hash: '' });
      }
      if (matches.length === 0) throw failed(cmd, 'no source files were specified');
      out.push(...matches);
      continue;
    }
    const notFound = () =>
      src.kind === 'context'
        ? failed(
            cmd,
            `file not found in build context or excluded by .dockerignore: stat ${rel || '.'}: file does not exist`,
          )
        : failed(cmd, `stat ${orig}: file does not exist`);
    if (rel !== '' && src.hidden(rel)) throw notFound();
    // Symlinks on the way (and at the end) are followed, but only inside the root.
    const abs = await resolveInRoot(src.root, rel);
    let st: Stats;
    try {
      st = await fsp.lstat(abs);
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) throw notFound();
      throw err;
    }
    const realRel = path.relative(src.root, abs).split(path.sep).join('/');
    out.push({ orig, rel: realRel, abs, st, hash: '' });
  }
  for (const s of out) s.hash = await sourceHash(src, s);
  return out;
}

function headerFields(name: string, st: Stats, link: string): string {
  const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'o';
  return [name, type, (st.mode & 0o7777).toString(8), st.uid, st.gid, st.isFile() ? st.size : 0, link].join('\0');
}

const SMALL_FILE = 1 << 20;

async function fileDigest(abs: string, st: Stats, memo: DigestMemo | undefined): Promise<string> {
  const known = memo?.get(abs, st);
  if (known) return known;
  const digest = await readDigest(abs, st.size);
  memo?.set(abs, st, digest);
  return digest;
}

async function readDigest(abs: string, size: number): Promise<string> {
  const h = createHash('sha256');
  // Contexts are mostly small files: one synchronous read beats a stream's several round trips.
  if (size <= SMALL_FILE) return h.update(readFileSync(abs)).digest('hex');
  for await (const chunk of createReadStream(abs)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function entryHash(
  h: ReturnType<typeof createHash>,
  name: string,
  abs: string,
  st: Stats,
  memo: DigestMemo | undefined,
): Promise<void> {
  const link = st.isSymbolicLink() ? await fsp.readlink(abs) : '';
  h.update(headerFields(name, st, link));
  h.update('\0');
  if (st.isFile()) h.update(await fileDigest(abs, st, memo));
  h.update('\n');
}

async function sourceHash(src: SourceRoot, s: SelectedSource): Promise<string> {
  const h = createHash('sha256');
  if (!s.st.isDirectory()) {
    await entryHash(h, path.posix.basename(s.rel), s.abs, s.st, src.digests);
    return `file:${h.digest('hex')}`;
  }
  for await (const e of walkTree(s.abs, { include: (x) => src.include(joinRel(s.rel, x.rel), x.st.isDirectory()) })) {
    if (src.hidden(joinRel(s.rel, e.rel))) continue;
    await entryHash(h, e.rel, e.abs, e.st, src.digests);
  }
  return `dir:${h.digest('hex')}`;
}

const joinRel = (a: string, b: string) => (a === '' ? b : `${a}/${b}`);

/** Docker's getSourceHashFromInfos. */
export function combinedHash(sources: readonly SelectedSource[]): string {
  if (sources.length === 1) return sources[0]!.hash;
  return `multi:${createHash('sha256')
    .update(sources.map((s) => s.hash).join(','))
    .digest('hex')}`;
}

export interface Identity {
  uid: number;
  gid: number;
}

/** `--chown=user[:group]`, names looked up in the destination rootfs (Docker's parseChownFlag). */
export async function resolveChown(spec: string | undefined, rootfs: string): Promise<Identity> {
  if (spec === undefined || spec === '') return { uid: 0, gid: 0 };
  const [u = '', g = u] = spec.split(':');
  const read = async (f: string) => {
    try {
      return await fsp.readFile(await resolveInRoot(rootfs, f), 'utf8');
    } catch {
      return undefined;
    }
  };
  const num = (s: string) => (/^\d+$/.test(s) ? Number(s) : undefined);
  let uid = num(u);
  if (uid === undefined) {
    const passwd = await read('etc/passwd');
    if (passwd === undefined)
      throw new WharfError(
        'INVALID_ARGUMENT',
        `unable to convert uid/gid chown string to host mapping: can't find uid for user ${u}: no such file or directory`,
      );
    uid = parsePasswd(passwd).find((p) => p.name === u)?.uid;
    if (uid === undefined)
      throw new WharfError(
        'INVALID_ARGUMENT',
        `unable to convert uid/gid chown string to host mapping: can't find uid for user ${u}: no such user: ${u}`,
      );
  }
  let gid = num(g);
  if (gid === undefined) {
    const group = await read('etc/group');
    gid = group === undefined ? undefined : parseGroup(group).find((x) => x.name === g)?.gid;
    if (gid === undefined)
      throw new WharfError(
        'INVALID_ARGUMENT',
        `unable to convert uid/gid chown string to host mapping: can't find gid for group ${g}: no such group: ${g}`,
      );
  }
  return { uid, gid };
}

export interface CopyOptions {
  cmd: 'COPY' | 'ADD';
  /** Destination as written, already joined with WORKDIR when relative (a trailing '/' kept). */
  dest: string;
  owner: Identity;
  chmod?: number;
  /** ADD: unpack local tar archives instead of copying them. */
  unpackArchives: boolean;
}

/** Destination as Docker computes it: relative to WORKDIR, trailing slash meaningful. */
export function destinationPath(dest: string, workdir: string | undefined): string {
  if (dest.startsWith('/')) return dest;
  const slash = dest.endsWith('/') || dest === '.' || dest.endsWith('/.');
  const joined = path.posix.join('/', workdir || '/', dest);
  return slash && !joined.endsWith('/') ? `${joined}/` : joined;
}

/** Copy the selected sources into the mounted `rootfs`. */
export async function copyInto(
  rootfs: string,
  src: SourceRoot,
  sources: readonly SelectedSource[],
  opts: CopyOptions,
): Promise<void> {
  const wantsDir = opts.dest.endsWith('/');
  const destRel = opts.dest.replace(/^\/+/, '');
  if (sources.length > 1 && !wantsDir) {
    throw new WharfError(
      'INVALID_ARGUMENT',
      `When using ${opts.cmd} with more than one source file, the destination must be a directory and end with a /`,
    );
  }
  for (const s of sources) {
    if (s.st.isDirectory()) {
      const destAbs = await mkdirAllInRoot(rootfs, destRel, opts.owner);
      await copyTree(s.abs, s.rel, destAbs, rootfs, destRel, src, opts);
      continue;
    }
    if (opts.unpackArchives && s.st.isFile() && (await isArchive(s.abs))) {
      const destAbs = await mkdirAllInRoot(rootfs, destRel, opts.owner);
      await applyLayer(await decompressStream((await fsp.open(s.abs)).createReadStream()), destAbs, {
        whiteouts: 'none',
      });
      continue;
    }
    const existingDir = await isDirInRoot(rootfs, destRel);
    const target = wantsDir || existingDir ? path.posix.join(destRel, path.posix.basename(s.rel)) : destRel;
    const parentAbs = await mkdirAllInRoot(rootfs, path.posix.dirname(target), opts.owner);
    await copyEntry(s.abs, s.st, path.join(parentAbs, path.posix.basename(target)), opts);
  }
}

async function isDirInRoot(rootfs: string, rel: string): Promise<boolean> {
  try {
    return (await fsp.stat(await resolveInRoot(rootfs, rel))).isDirectory();
  } catch {
    return false;
  }
}

/** MkdirAll inside the rootfs (symlinks resolved inside it); new directories get mode 0755 and the owner. */
async function mkdirAllInRoot(rootfs: string, rel: string, owner: Identity): Promise<string> {
  const parts = rel.split('/').filter((c) => c !== '' && c !== '.');
  let cur = '';
  let abs = rootfs;
  for (const p of parts) {
    cur = cur ? `${cur}/${p}` : p;
    abs = await resolveInRoot(rootfs, cur);
    try {
      await fsp.mkdir(abs, { mode: 0o755 });
      await fsp.chmod(abs, 0o755);
      await fsp.lchown(abs, owner.uid, owner.gid);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      if (!(await fsp.stat(abs)).isDirectory())
        throw new WharfError('INVALID_ARGUMENT', `cannot copy to /${cur}: it exists and is not a directory`);
    }
  }
  return abs;
}

async function copyTree(
  srcAbs: string,
  srcRel: string,
  destAbs: string,
  rootfs: string,
  destRel: string,
  src: SourceRoot,
  opts: CopyOptions,
): Promise<void> {
  const dirs: Array<{ abs: string; st: Stats }> = [];
  // Directories below the destination are made here (or were there): resolve each one once, not once per file.
  const resolved = new Map<string, string>([['.', destAbs]]);
  // Directories made by this copy are empty: nothing in them needs replacing.
  const fresh = new Set<string>();
  const dirOf = async (rel: string): Promise<string> => {
    const d = path.posix.dirname(rel);
    let abs = resolved.get(d);
    if (abs === undefined) {
      abs = await resolveInRoot(rootfs, path.posix.join(destRel, d));
      resolved.set(d, abs);
    }
    return abs;
  };
  for await (const e of walkTree(srcAbs, { include: (x) => src.include(joinRel(srcRel, x.rel), x.st.isDirectory()) })) {
    if (src.hidden(joinRel(srcRel, e.rel)) && !e.st.isDirectory()) continue;
    const to = path.join(await dirOf(e.rel), e.name);
    if (e.st.isDirectory()) {
      let existing: fs.Stats | undefined;
      try {
        existing = fs.lstatSync(to);
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
      if (existing?.isSymbolicLink()) {
        // An existing symlink to a directory is followed inside the rootfs, as Docker's chrooted untar does.
        resolved.set(e.rel, await resolveInRoot(rootfs, path.posix.join(destRel, e.rel)));
        continue;
      }
      if (existing && !existing.isDirectory()) fs.rmSync(to, { force: true });
      if (!existing?.isDirectory()) {
        fs.mkdirSync(to);
        fresh.add(to);
      }
      fs.chmodSync(to, opts.chmod ?? e.st.mode & 0o7777);
      fs.lchownSync(to, opts.owner.uid, opts.owner.gid);
      resolved.set(e.rel, to);
      dirs.push({ abs: to, st: e.st });
    } else {
      copyEntrySync(e.abs, e.st, to, opts, fresh.has(path.dirname(to)));
    }
  }
  // Directory times last: writing into a directory changes its mtime.
  for (const d of dirs.reverse()) fs.utimesSync(d.abs, d.st.atime, d.st.mtime);
}

/** Copy one non-directory. Synchronous: for the many small files of a context, thread-pool round trips cost more. */
function copyEntrySync(from: string, st: Stats, to: string, opts: CopyOptions, inFreshDir = false): void {
  if (!inFreshDir) {
    try {
      const existing = fs.lstatSync(to);
      fs.rmSync(to, { recursive: existing.isDirectory(), force: true });
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
  }
  if (st.isSymbolicLink()) {
    fs.symlinkSync(fs.readlinkSync(from), to);
    fs.lchownSync(to, opts.owner.uid, opts.owner.gid);
    fs.lutimesSync(to, st.atime, st.mtime);
    return;
  }
  if (!st.isFile()) return; // sockets, fifos and devices in a context are skipped
  // On overlay, copy_file_range costs about twice a plain read and write for small files.
  if (st.size <= SMALL_FILE) fs.writeFileSync(to, fs.readFileSync(from));
  else fs.copyFileSync(from, to);
  fs.lchownSync(to, opts.owner.uid, opts.owner.gid);
  fs.chmodSync(to, opts.chmod ?? st.mode & 0o7777);
  fs.utimesSync(to, st.atime, st.mtime);
}

async function copyEntry(from: string, st: Stats, to: string, opts: CopyOptions): Promise<void> {
  try {
    const existing = await fsp.lstat(to);
    await fsp.rm(to, { recursive: existing.isDirectory(), force: true });
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  if (st.isSymbolicLink()) {
    await fsp.symlink(await fsp.readlink(from), to);
    await fsp.lchown(to, opts.owner.uid, opts.owner.gid);
    await fsp.lutimes(to, st.atime, st.mtime);
    return;
  }
  if (!st.isFile()) return; // sockets, fifos and devices in a context are skipped
  await fsp.copyFile(from, to);
  await fsp.lchown(to, opts.owner.uid, opts.owner.gid);
  await fsp.chmod(to, opts.chmod ?? st.mode & 0o7777);
  await fsp.utimes(to, st.atime, st.mtime);
}

async function isArchive(abs: string): Promise<boolean> {
  const fh = await fsp.open(abs, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    const head = buf.subarray(0, bytesRead);
    if (detectCompression(head) !== 'none') return true;
    return bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    await fh.close();
  }
}
