// Runs a CommonJS bundle of dist/ (scripts/bundle.mjs) compiled with V8's code cache: the CLI (bin/wharf.cjs)
// starts through this.
'use strict';
const { readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname } = require('node:path');
const { Script } = require('node:vm');

/**
 * Evaluate `file` as a CommonJS module and return its exports. The cache next to the bundle (`<file>.cache`) is
 * written atomically by the first process that finds it missing or stale, at its exit, so that the functions that
 * process compiled are in it too; a read-only install runs without. V8 rejects a cache made by another V8 or with
 * other V8 flags, and the bundle is then compiled from source.
 */
function loadBundle(file) {
  const cacheFile = `${file}.cache`;
  let cached;
  try {
    cached = readFileSync(cacheFile);
  } catch {
    cached = undefined;
  }
  // latin1: the bundle is ASCII only (scripts/bundle.mjs escapes the rest), which latin1 reads unchanged without
  // UTF-8's validation, ~1 ms less of every command's start-up for the 1.3 MB.
  const script = new Script(Module.wrap(readFileSync(file, 'latin1')), {
    filename: file,
    ...(cached ? { cachedData: cached } : {}),
  });
  if (!cached || script.cachedDataRejected) {
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {
        rmSync(tmp, { force: true });
      }
    });
  }
  const mod = { exports: {} };
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, dirname(file));
  return mod.exports;
}

module.exports = { loadBundle };
