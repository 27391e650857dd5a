#!/usr/bin/env node
// Builds the optional native addons (native/sendfile.c → build/Release/wharf_sendfile.node, native/mount.c →
// wharf_mount.node) with node-gyp, only when a .node file is missing or older than its sources. Wharf works without
// them (the registry then streams blobs, snapshots are mounted by mount(8)), so a failed build prints one warning
// line and exits 0. Runs from `npm install` and at the start of `npm run build`.
import { existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outputs = ['wharf_sendfile.node', 'wharf_mount.node'].map((f) => path.join(root, 'build', 'Release', f));
const sources = ['binding.gyp', 'native/sendfile.c', 'native/mount.c', 'scripts/build-native.mjs'].map((s) => path.join(root, s));
const warn = (why) => {
  process.stderr.write(`warning: native addons not built (${why}); the registry streams blobs, mount(8) mounts snapshots\n`);
  process.exit(0);
};

if (process.platform !== 'linux') process.exit(0); // sendfile(2) as used here is Linux's
if (!sources.every((s) => existsSync(s))) warn('sources missing');
if (outputs.every((o) => existsSync(o))) {
  const built = Math.min(...outputs.map((o) => statSync(o).mtimeMs));
  if (sources.every((s) => statSync(s).mtimeMs <= built)) process.exit(0);
}

// node-gyp: the one on PATH inside npm scripts, else the copy bundled with npm.
const candidates = [];
const npmBundled = (dir) => path.join(dir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
if (process.env.npm_execpath) candidates.push(npmBundled(path.resolve(path.dirname(process.env.npm_execpath), '..')));
candidates.push(npmBundled(path.resolve(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm')));
const gypJs = candidates.find((c) => existsSync(c));
// Node's own headers when they are installed next to it (/usr/include/node): no download, works offline.
const prefix = path.resolve(path.dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir ?? (existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
const args = ['rebuild', '--release', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const r = gypJs
  ? spawnSync(process.execPath, [gypJs, ...args], { cwd: root, encoding: 'utf8' })
  : spawnSync('node-gyp', args, { cwd: root, encoding: 'utf8' });
if (r.error || r.status !== 0 || !outputs.every((o) => existsSync(o))) {
  const lastErr = `${r.stderr ?? ''}`.split('\n').filter((l) => /error/i.test(l)).slice(-1)[0]?.trim();
  warn(r.error ? r.error.message : `node-gyp exited with ${r.status}${lastErr ? `: ${lastErr}` : ''}`);
}
