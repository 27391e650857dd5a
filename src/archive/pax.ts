import { createRequire } from 'node:module';
import * as path from 'node:path';
import { WharfError } from '../errors/index.js';

/**
 * tar-stream decodes and encodes PAX records as UTF-8 text, which corrupts binary xattr values such as
 * `security.capability` (Go's archive/tar and GNU tar store those as raw bytes). We wrap its two PAX codec functions so
 * that decoding also keeps the raw bytes of every record under a symbol key, and encoding writes Buffer values
 * verbatim. Both wrappers behave exactly like the originals for everything else, so other users of tar-stream in this
 * process see no change. A unit test round-trips a binary xattr so that a tar-stream upgrade that breaks this fails loudly.
 */
export const RAW_PAX = Symbol.for('wharf.archive.rawPax');

export type PaxRecords = Record<string, string> & { [RAW_PAX]?: Record<string, Buffer> };
/** What we hand to tar-stream's pack: Buffer values are written as raw bytes. */
export type PaxInput = Record<string, string | Buffer>;

interface HeadersModule {
  decodePax(buf: Buffer): Record<string, string>;
  encodePax(opts: { name?: string; linkname?: string | null; pax?: Record<string, unknown> | null }): Buffer;
  [PATCHED]?: true;
}
const PATCHED = Symbol.for('wharf.archive.paxPatched');

/** Where the CLI bundle's inlined copy of tar-stream's headers.js registers itself (scripts/bundle.mjs). */
const BUNDLED_HEADERS = Symbol.for('wharf.bundledTarStreamHeaders');

function loadHeaders(): HeadersModule {
  const bundled = (globalThis as Record<symbol, unknown>)[BUNDLED_HEADERS] as HeadersModule | undefined;
  let mod: HeadersModule;
  let file = 'the bundled tar-stream';
  if (bundled) {
    mod = bundled;
  } else {
    const require = createRequire(import.meta.url);
    // tar-stream's package exports hide headers.js; an absolute path reaches the same module instance its parser uses.
    file = path.join(path.dirname(require.resolve('tar-stream')), 'headers.js');
    mod = require(file) as HeadersModule;
  }
  if (typeof mod.decodePax !== 'function' || typeof mod.encodePax !== 'function') {
    throw new WharfError('INTERNAL', `tar-stream at ${file} has no decodePax/encodePax: its version is not supported`);
  }
  return mod;
}

function decodePaxRaw(buf: Buffer): PaxRecords {
  const result: PaxRecords = {};
  const raw: Record<string, Buffer> = {};
  let rest = buf;
  while (rest.length) {
    let i = 0;
    while (i < rest.length && rest[i] !== 0x20) i++;
    const len = parseInt(rest.subarray(0, i).toString('latin1'), 10);
    if (!len || len > rest.length) break;
    const record = rest.subarray(i + 1, len - 1);
    const eq = record.indexOf(0x3d);
    if (eq === -1) break;
    const key = record.subarray(0, eq).toString('utf8');
    result[key] = record.subarray(eq + 1).toString('utf8');
    raw[key] = Buffer.from(record.subarray(eq + 1));
    rest = rest.subarray(len);
  }
  Object.defineProperty(result, RAW_PAX, { value: raw, enumerable: true, configurable: true, writable: true });
  return result;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  // The length prefix counts itself.
  let len = body.length + String(body.length).length;
  if (String(len).length !== String(body.length).length) len = body.length + String(len).length;
  return Buffer.concat([Buffer.from(String(len), 'latin1'), body]);
}

export function installPaxCodec(): void {
  const headers = loadHeaders();
  if (headers[PATCHED]) return;
  const originalEncode = headers.encodePax.bind(headers);
  headers.decodePax = decodePaxRaw;
  headers.encodePax = (opts) => {
    const pax = opts.pax ?? {};
    if (!Object.values(pax).some((v) => Buffer.isBuffer(v))) return originalEncode(opts);
    const parts: Buffer[] = [];
    if (opts.name) parts.push(paxRecord('path', Buffer.from(opts.name, 'utf8')));
    if (opts.linkname) parts.push(paxRecord('linkpath', Buffer.from(opts.linkname, 'utf8')));
    for (const [k, v] of Object.entries(pax)) {
      parts.push(paxRecord(k, Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8')));
    }
    return Buffer.concat(parts);
  };
  headers[PATCHED] = true;
}

/** The raw bytes of a PAX record, falling back to its text when the raw form is not at hand (e.g. global headers). */
export function paxValueBytes(pax: PaxRecords, key: string): Buffer {
  return pax[RAW_PAX]?.[key] ?? Buffer.from(pax[key] ?? '', 'utf8');
}

export const XATTR_PREFIX = 'SCHILY.xattr.';

/** xattrs carried by an entry, skipping overlayfs' private ones (they would forge whiteouts or redirects). */
export function xattrsFromPax(pax: PaxRecords | null | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  if (!pax) return out;
  for (const key of Object.keys(pax)) {
    if (!key.startsWith(XATTR_PREFIX)) continue;
    const name = key.slice(XATTR_PREFIX.length);
    if (!name || isOverlayPrivateXattr(name)) continue;
    out.set(name, paxValueBytes(pax, key));
  }
  return out;
}

export function isOverlayPrivateXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.');
}
