import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/**
 * A Node built-in loaded on first use. zlib, http, https, tls, dgram and readline cost 1–4 ms each to load, and most
 * commands (every `run`) never touch them: a top-level import would make every command pay at start-up.
 */
export function lazyBuiltin<T>(name: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= requireHere(name) as T);
}
