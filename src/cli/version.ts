import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Set by scripts/bundle.mjs in the bundled CLI: no package.json read on every command. */
declare const __WHARF_VERSION__: string | undefined;

/** Wharf's version: package.json sits one level above dist/wharf.cjs (bundled) and two above dist/cli/*.js. */
export function wharfVersion(): string {
  if (typeof __WHARF_VERSION__ === 'string') return __WHARF_VERSION__;
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const p = require(rel) as { name?: string; version: string };
      if (p.name === 'wharf') return p.version;
    } catch {
      // try the next layout
    }
  }
  return 'unknown';
}
