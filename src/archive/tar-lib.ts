import { createRequire } from 'node:module';
import type * as TarStream from 'tar-stream';
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
  loaded = mod;
  return mod;
}
