import { accessSync, constants, existsSync } from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// This module runs from src/util/ (tsx), dist/util/ (tsc) and dist/*.cjs (the esbuild bundles): the addons are in
// build/Release/ at the package root, two directories up, or one from a bundle (a file directly in dist/).
const HERE = fileURLToPath(import.meta.url);
const DIRS = path.basename(path.dirname(HERE)) === 'dist' ? ['../build/Release/'] : ['../../build/Release/'];
const loaded = new Map<string, unknown>();

/**
 * One of Wharf's optional native addons (native/*.c, built by scripts/build-native.mjs), or null when it is not
 * built, not loadable, fails `check`, or WHARF_NATIVE=0 disables them all (every caller has a pure fallback).
 * WHARF_NATIVE stays an environment switch rather than an option: it is a process-wide debugging and test switch
 * that the monitor process (started by the CLI or a library program) must see as well, and it changes only which of
 * two equivalent implementations runs.
 */
export function loadNativeAddon<T>(name: string, check: (m: Partial<T>) => boolean): T | null {
  if (process.env.WHARF_NATIVE === '0') return null; // read on every call: tests switch it within one process
  if (loaded.has(name)) return loaded.get(name) as T | null;
  let addon: T | null = null;
  if (process.platform === 'linux') {
    // createRequire, not a bare require: esbuild leaves a call through a local function with a computed path alone.
    const requireAddon = createRequire(import.meta.url);
    for (const dir of DIRS) {
      const file = fileURLToPath(new URL(`${dir}${name}.node`, import.meta.url));
      if (!existsSync(file)) continue;
      try {
        const m = requireAddon(file) as Partial<T>;
        if (check(m)) {
          addon = m as T;
          break;
        }
      } catch {
        // A stale or foreign build: try the next one, else the fallback.
      }
    }
  }
  loaded.set(name, addon);
  return addon;
}

/**
 * One of Wharf's native programs (native/ built as an executable next to the addons, e.g. the container monitor
 * build/Release/wharf-monitor), or undefined when it is not built, cannot be executed, or (an optional one) when
 * WHARF_NATIVE=0. `required`: a program without a pure fallback, which WHARF_NATIVE=0 does not turn off.
 */
export function nativeProgram(name: string, opts: { required?: boolean } = {}): string | undefined {
  if ((process.env.WHARF_NATIVE === '0' && !opts.required) || process.platform !== 'linux') return undefined;
  for (const dir of DIRS) {
    const file = fileURLToPath(new URL(`${dir}${name}`, import.meta.url));
    try {
      accessSync(file, constants.X_OK); // not just there: a noexec mount or a lost mode bit would fail every spawn
      return file;
    } catch {
      // not built, or not runnable here
    }
  }
  return undefined;
}
