#!/usr/bin/env node
// Runs every *.test.ts under the given directories (default: test/ and src/) with node:test through tsx.
// Node 20's test runner does not match .ts files by itself, so we list them here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passthrough = process.argv.slice(2).filter((a) => a.startsWith('-'));
const files = [];
const walk = (dir) => {
  let entries;
  try { entries = readdirSync(dir); } catch { return; }
  for (const name of entries.sort()) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(p);
  }
};
for (const r of roots.length ? roots : ['test', 'src']) {
  if (statSync(r, { throwIfNoEntry: false })?.isFile()) files.push(r); else walk(r);
}
if (files.length === 0) { console.error('no test files found'); process.exit(1); }
// Integration tests wait on processes and I/O more than CPU, so run a few more files than cores.
const concurrency = process.env.WHARF_TEST_CONCURRENCY ?? String(Math.max(2, availableParallelism() + 1));
const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...passthrough, ...files];
const child = spawn(process.execPath, args, { stdio: 'inherit' });
child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
