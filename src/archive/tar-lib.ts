import { createRequire } from 'node:module';
import type * as TarStream from 'tar-stream';
import { WharfError } from '../errors/index.js';
import { installPaxCodec } from './pax.js';

/** Defined (true) by scripts/bundle.mjs in the bundled CLI and monitor only. */
declare const __WHARF_BUNDLED__: boolean | undefined;

let loaded: typeof TarStream | undefined;

/**
 * tar-stream, loaded on first use with Wharf's PAX codec installed (pax.ts). Loading it (streamx and friends) cost
 * every command a few milliseconds at start-up, and most (every `run`) never read or write a tar.
 *
 * Synchronous, because tar writers are made synchronously. In the bundle esbuild turns the literal require below
 * into a call of its bundled copy, evaluated only now (that copy registers its headers module for pax.ts, so the
 * codec is installed after the load); the ES module builds (tsx, dist/) load the package next to this module through
 * createRequire, whatever global `require` a host such as `node -e` defines.
 */
export function tarStream(): typeof TarStream {
  if (loaded) return loaded;
  const mod =
    typeof __WHARF_BUNDLED__ !== 'undefined'
      ? (require('tar-stream') as typeof TarStream)
      : (createRequire(import.meta.url)('tar-stream') as typeof TarStream);
  installPaxCodec();
  ignoreSizeOfHeaderOnlyEntries(mod);
  loaded = mod;
  return mod;
}

/** The entry types whose size Go's archive/tar (so Docker) ignores: they have no data (isHeaderOnlyType). */
const HEADER_ONLY = new Set(['link', 'symlink', 'character-device', 'block-device', 'directory', 'fifo']);

interface ExtractInternals {
  _header: { type: string; size: number } | null;
  _applyLongHeaders(): void;
}

/**
 * tar-stream hands a directory entry whose header (or PAX `size` record) gives it a size a body stream that never
 * ends, so reading the layer hangs for good (a hostile layer from a registry stalled `pull`; found by
 * test/fuzz/tar.test.ts). Go's reader, Docker's, reads such an entry as header-only, size 0, for every type that
 * cannot have data: so do we, by setting the size once the entry's header is complete (after its PAX records).
 */
function ignoreSizeOfHeaderOnlyEntries(mod: typeof TarStream): void {
  const proto = Object.getPrototypeOf(mod.extract()) as ExtractInternals & { [FIXED]?: true };
  if (proto[FIXED]) return;
  const apply = proto._applyLongHeaders;
  if (typeof apply !== 'function') {
    throw new WharfError('INTERNAL', 'tar-stream has no _applyLongHeaders: its version is not supported');
  }
  proto._applyLongHeaders = function (this: ExtractInternals) {
    apply.call(this);
    if (this._header && HEADER_ONLY.has(this._header.type)) this._header.size = 0;
  };
  proto[FIXED] = true;
}
const FIXED = Symbol.for('wharf.archive.headerOnlySizes');
