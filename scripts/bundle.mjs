// Bundle the CLI into one ESM file: Node 20 spends most of a short command's start-up resolving and compiling
// dozens of module files, and one file loads in about half the time. Native addons stay external.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: 'dist/wharf.mjs',
  external: ['better-sqlite3', '@napi-rs/xattr', 'node-pty'],
  banner: { js: "import { createRequire as __wharfCreateRequire } from 'node:module'; const require = __wharfCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
