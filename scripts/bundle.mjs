// Bundle the CLI into one ESM file: Node 20 spends most of a short command's start-up resolving and compiling
// dozens of module files, and one file loads in about half the time. Native addons stay external.
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3', '@napi-rs/xattr', 'node-pty'],
  banner: { js: "import { createRequire as __wharfCreateRequire } from 'node:module'; const require = __wharfCreateRequire(import.meta.url);" },
  logLevel: 'warning',
};
// The CLI, and the per-container monitor (a process started for every container, so its start-up counts too).
await build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/wharf.mjs' });
await build({ ...common, entryPoints: ['src/runtime/monitor-main.ts'], outfile: 'dist/monitor-main.mjs' });
