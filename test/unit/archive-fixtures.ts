/**
 * Declarative filesystem and tar fixtures for the archive tests: build a tree from a list of entries, describe a
 * tree as comparable data, and craft tars entry by entry (including malicious ones).
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { getAttribute, listAttributes, setAttribute } from '@napi-rs/xattr';
import tar from 'tar-stream';

export type Meta = {
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  xattrs?: Record<string, Buffer | string>;
};
export type FixtureEntry =
  | ({ kind: 'dir'; path: string } & Meta)
  | ({ kind: 'file'; path: string; content: string | Buffer } & Meta)
  | ({ kind: 'symlink'; path: string; target: string } & Meta)
  | { kind: 'hardlink'; path: string; target: string }
  | ({ kind: 'fifo'; path: string } & Meta)
  | ({ kind: 'chardev' | 'blockdev'; path: string; major: number; minor: number } & Meta)
  | ({ kind: 'whiteout'; path: string } & Meta)
  | { kind: 'opaque'; path: string };

export const T0 = 1_600_000_000; // a fixed, whole-second mtime

export async function tempDir(prefix: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), `wharf-archive-${prefix}-`));
}

/** Create entries under root, in order; directory times are set last so that creating children does not move them. */
export async function createTree(root: string, entries: FixtureEntry[]): Promise<void> {
  const dirTimes: Array<[string, number]> = [];
  for (const e of entries) {
    const p = path.join(root, e.path);
    await fsp.mkdir(path.dirname(p), { recursive: true });
    switch (e.kind) {
      case 'dir':
        await fsp.mkdir(p, { recursive: true });
        break;
      case 'file':
        await fsp.writeFile(p, e.content);
        break;
      case 'symlink':
        await fsp.symlink(e.target, p);
        break;
      case 'hardlink':
        await fsp.link(path.join(root, e.target), p);
        continue;
      case 'fifo':
        execFileSync('mknod', [p, 'p']);
        break;
      case 'chardev':
      case 'blockdev':
        execFileSync('mknod', [p, e.kind === 'chardev' ? 'c' : 'b', String(e.major), String(e.minor)]);
        break;
      case 'whiteout':
        execFileSync('mknod', ['-m', '0', p, 'c', '0', '0']);
        break;
      case 'opaque':
        await setAttribute(p, 'trusted.overlay.opaque', 'y');
        continue;
    }
    if (e.uid !== undefined || e.gid !== undefined) await fsp.lchown(p, e.uid ?? 0, e.gid ?? 0);
    if (e.mode !== undefined && e.kind !== 'symlink') await fsp.chmod(p, e.mode);
    for (const [k, v] of Object.entries(e.xattrs ?? {})) await setAttribute(p, k, v);
    const mtime = e.mtime ?? T0;
    if (e.kind === 'dir') dirTimes.push([p, mtime]);
    else await fsp.lutimes(p, mtime, mtime);
  }
  for (const [p, t] of dirTimes.reverse()) await fsp.utimes(p, t, t);
}

export interface NodeDesc {
  type: string;
  mode: string;
  uid: number;
  gid: number;
  mtime: number;
  size?: number;
  sha256?: string;
  target?: string;
  rdev?: string;
  xattrs?: Record<string, string>;
  /** For the second and later names of a hardlinked inode: the first name. */
  linkOf?: string;
}

function typeOf(st: import('node:fs').Stats): string {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'chardev';
  if (st.isBlockDevice()) return 'blockdev';
  if (st.isFIFO()) return 'fifo';
  return 'other';
}

/** Everything about a tree that a layer round trip must keep, keyed by path. */
export async function describeTree(
  root: string,
  opts: { skipTrustedOverlay?: boolean } = {},
): Promise<Record<string, NodeDesc>> {
  const out: Record<string, NodeDesc> = {};
  const inodes = new Map<number, string>();
  const walk = async (dir: string, rel: string) => {
    for (const name of (await fsp.readdir(dir)).sort()) {
      const p = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await fsp.lstat(p);
      const d: NodeDesc = {
        type: typeOf(st),
        mode: (st.mode & 0o7777).toString(8),
        uid: st.uid,
        gid: st.gid,
        mtime: Math.floor(st.mtimeMs / 1000),
      };
      if (st.isSymbolicLink()) {
        d.target = await fsp.readlink(p);
        delete (d as Partial<NodeDesc>).mode;
      }
      if (st.isCharacterDevice() || st.isBlockDevice()) d.rdev = `${Math.floor(st.rdev / 256)}:${st.rdev % 256}`;
      if (st.isFile()) {
        const first = st.nlink > 1 ? inodes.get(st.ino) : undefined;
        if (first) d.linkOf = first;
        else {
          if (st.nlink > 1) inodes.set(st.ino, r);
          d.size = st.size;
          d.sha256 = createHash('sha256')
            .update(await fsp.readFile(p))
            .digest('hex');
        }
      }
      const names = (await listAttributes(p))
        .filter((n) => !(opts.skipTrustedOverlay && n.startsWith('trusted.overlay.')))
        .sort();
      if (names.length > 0) {
        d.xattrs = {};
        for (const n of names) d.xattrs[n] = ((await getAttribute(p, n)) ?? Buffer.alloc(0)).toString('hex');
      }
      out[r] = d;
      if (st.isDirectory()) await walk(p, r);
    }
  };
  await walk(root, '');
  return out;
}

export interface RawEntry {
  name: string;
  type?: 'file' | 'link' | 'symlink' | 'directory' | 'character-device' | 'block-device' | 'fifo';
  body?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

/** A tar built entry by entry, exactly as given (no normalization: that is the point for breakout tests). */
export async function makeTar(entries: RawEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    await new Promise<void>((resolve, reject) => {
      const header = {
        name: e.name,
        type,
        mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        mtime: new Date((e.mtime ?? T0) * 1000),
        linkname: e.linkname,
        devmajor: e.devmajor,
        devminor: e.devminor,
        pax: e.pax,
      } as Parameters<tar.Pack['entry']>[0];
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === 'file') pack.entry(header, e.body ?? '', cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export function bufferStream(b: Buffer): Readable {
  return Readable.from([b]);
}

export async function streamToBuffer(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** Names and types in a tar, in order. */
export async function listTar(
  b: Buffer,
): Promise<Array<{ name: string; type: string; linkname?: string | null; pax?: unknown }>> {
  const ex = tar.extract();
  const out: Array<{ name: string; type: string; linkname?: string | null; pax?: unknown }> = [];
  const feed = (async () => {
    ex.end(b);
  })();
  for await (const e of ex) {
    out.push({ name: e.header.name, type: e.header.type, linkname: e.header.linkname, pax: e.header.pax });
    for await (const _ of e) void _;
  }
  await feed;
  return out;
}

export function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}
