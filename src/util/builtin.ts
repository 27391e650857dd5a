import { createRequire } from 'node:module';
import type * as Net from 'node:net';

const requireHere = createRequire(import.meta.url);

/**
 * A Node built-in loaded on first use. zlib, http, https, tls, dgram and readline cost 1–4 ms each to load, and most
 * commands (every `run`) never touch them: a top-level import would make every command pay at start-up.
 */
export function lazyBuiltin<T>(name: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= requireHere(name) as T);
}

const net = lazyBuiltin<typeof Net>('node:net');

/**
 * node:net's isIP (0, 4 or 6), loading node:net on first use: the address checks sit in modules every command
 * loads (network, container creation, registry hosts), and node:net costs ~2 ms of start-up that `tag` or `ps` never
 * needs.
 */
export const isIP = (address: string): number => net().isIP(address);
