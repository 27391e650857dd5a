import type { Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { WharfError } from '../errors/index.js';
import { run } from '../util/index.js';
import { isOverlayPrivateXattr } from './pax.js';

/**
 * @napi-rs/xattr, loaded on first use: its loader probes the platform (reading /usr/bin/ldd to tell musl from glibc),
 * which every command paid at start-up although only layer work needs extended attributes.
 */
let xattrModule: typeof import('@napi-rs/xattr') | undefined;
const xattr = (): typeof import('@napi-rs/xattr') =>
  (xattrModule ??= createRequire(import.meta.url)('@napi-rs/xattr') as typeof import('@napi-rs/xattr'));
const getAttribute = (p: string, name: string) => xattr().getAttribute(p, name);
const getAttributeSync = (p: string, name: string) => xattr().getAttributeSync(p, name);
const listAttributesSync = (p: string) => xattr().listAttributesSync(p);
const setAttribute = (p: string, name: string, value: Buffer) => xattr().setAttribute(p, name, value);

// @napi-rs/xattr works on the link itself (l*xattr), never following symlinks: checked against its behaviour.

const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

/** Linux's encoding of dev_t (glibc gnu_dev_major/minor). */
export function major(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}
export function minor(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
}

/** An overlayfs whiteout: a character device 0/0. */
export function isOverlayWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function errnoName(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown }).code;
  return `${typeof code === 'string' ? code : ''} ${msg}`;
}

/** Errors meaning "this filesystem or this user cannot keep that xattr", which Docker also skips. */
function isXattrUnsupported(err: unknown): boolean {
  return /ENOTSUP|EOPNOTSUPP|EPERM|not supported|not permitted/i.test(errnoName(err));
}

/**
 * overlayfs' redirect_dir and metacopy features leave content in the lower layers (renamed directories, files whose
 * data was not copied up), so an upper dir that uses them is not a complete diff. Refuse rather than lose data.
 */
export function assertPlainUpperEntry(p: string, isDir: boolean): void {
  const name = isDir ? 'trusted.overlay.redirect' : 'trusted.overlay.metacopy';
  let v: Buffer | null = null;
  try {
    v = getAttributeSync(p, name);
  } catch (err) {
    if (isXattrUnsupported(err) || /ENODATA|No data/i.test(errnoName(err))) return;
    throw err;
  }
  if (v !== null) {
    throw new WharfError(
      'UNSUPPORTED',
      `${p} uses overlayfs ${isDir ? 'redirect_dir' : 'metacopy'}; mount overlays without it to diff them`,
    );
  }
}

export async function isOpaqueDir(p: string): Promise<boolean> {
  try {
    const v = await getAttribute(p, OVERLAY_OPAQUE_XATTR);
    return v !== null && v.length === 1 && v[0] === 0x79; // 'y'
  } catch (err) {
    if (isXattrUnsupported(err) || /ENODATA|No data/i.test(errnoName(err))) return false;
    throw err;
  }
}

/**
 * xattrs to put in a tar for `p`, sorted by name for deterministic output; overlayfs' private ones are left out.
 * Synchronous because it runs once per archived file and takes microseconds (see walk.ts).
 */
export function readXattrs(p: string): Array<[string, Buffer]> {
  let names: string[];
  try {
    names = listAttributesSync(p);
  } catch (err) {
    if (isXattrUnsupported(err)) return [];
    throw err;
  }
  const out: Array<[string, Buffer]> = [];
  for (const name of names.filter((n) => !isOverlayPrivateXattr(n)).sort()) {
    const v = getAttributeSync(p, name);
    if (v !== null) out.push([name, v]);
  }
  return out;
}

/** Write xattrs; ones the filesystem or user cannot hold are skipped, as Docker does. Returns how many were skipped. */
export async function writeXattrs(p: string, xattrs: Map<string, Buffer>): Promise<number> {
  let skipped = 0;
  for (const [name, value] of xattrs) {
    try {
      await setAttribute(p, name, value);
    } catch (err) {
      if (!isXattrUnsupported(err)) {
        throw new WharfError('INTERNAL', `cannot set xattr ${name} on ${p}: ${errnoName(err).trim()}`, { cause: err });
      }
      skipped++;
    }
  }
  return skipped;
}

export async function setOpaque(dir: string): Promise<void> {
  await setAttribute(dir, OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
}

/**
 * Node has no mknod(2); device nodes, fifos and whiteouts are rare in layers, so one `mknod` process each is fine.
 */
export async function makeNode(
  p: string,
  kind: 'c' | 'b' | 'p',
  mode: number,
  devmajor = 0,
  devminor = 0,
  signal?: AbortSignal,
): Promise<void> {
  const args = ['-m', (mode & 0o7777).toString(8), p, kind];
  if (kind !== 'p') args.push(String(devmajor), String(devminor));
  await run('mknod', args, signal !== undefined ? { signal } : {});
}

export async function makeWhiteout(p: string, signal?: AbortSignal): Promise<void> {
  await makeNode(p, 'c', 0, 0, 0, signal);
}
