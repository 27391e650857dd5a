// Bundle the CLI and the container monitor into one file each: Node 20 spends most of a short command's start-up
// resolving and compiling dozens of module files. Native addons stay external.
//
// The CLI bundle is CommonJS on purpose: bin/wharf.cjs compiles it with vm.Script and V8's code cache
// (dist/wharf.cjs.cache), which Node 20 offers for scripts but not for ES modules. Loading the 1.3 MB bundle as an
// ES module took 85–150 ms here; as a script 45–55 ms, and about 23 ms from the code cache.
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

// archive/pax.ts patches tar-stream's headers module (PAX values as raw bytes: binary xattrs). Inlined into a bundle,
// that module is a private copy the disk path in pax.ts cannot reach: the copy registers itself for pax.ts to find.
const registerTarStreamHeaders = {
  name: 'register-tar-stream-headers',
  setup(b) {
    b.onLoad({ filter: /[\\/]tar-stream[\\/]headers\.js$/ }, (args) => ({
      contents: `${readFileSync(args.path, 'utf8')}\nglobalThis[Symbol.for('wharf.bundledTarStreamHeaders')] = module.exports;\n`,
      loader: 'js',
    }));
  },
};

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));

// commander requires node:child_process at load, for executable subcommands Wharf does not have: loaded on first
// use instead (the module costs ~2.5 ms of every command's start-up; a `run` spawns nothing itself).
const lazyCommanderChildProcess = {
  name: 'lazy-commander-child-process',
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const eager = "const childProcess = require('node:child_process');";
      if (!text.includes(eager)) throw new Error(`${args.path}: no "${eager}" to make lazy (commander changed?)`);
      const lazy = "const childProcess = { get spawn() { return require('node:child_process').spawn; } };";
      return { contents: text.replace(eager, lazy), loader: 'js' };
    });
  },
};

// better-sqlite3's backup method requires node:util at load, for a promisify only `db.backup()` (which Wharf never
// calls) uses: loaded on first use instead (every command opens the database, so loads this module).
const lazySqliteBackupUtil = {
  name: 'lazy-sqlite-backup-util',
  setup(b) {
    b.onLoad({ filter: /[\\/]better-sqlite3[\\/]lib[\\/]methods[\\/]backup\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const eager = "const { promisify } = require('util');";
      const use = 'const fsAccess = promisify(fs.access);';
      if (!text.includes(eager) || !text.includes(use))
        throw new Error(`${args.path}: no "${eager}" to make lazy (better-sqlite3 changed?)`);
      const lazy = "const fsAccess = (...a) => require('util').promisify(fs.access)(...a);";
      return { contents: text.replace(eager, '').replace(use, lazy), loader: 'js' };
    });
  },
};

const common = {
  bundle: true,
  plugins: [registerTarStreamHeaders, lazyCommanderChildProcess, lazySqliteBackupUtil],
  platform: 'node',
  target: 'node20',
  // better-sqlite3's JavaScript is bundled (its addon is loaded by path: see meta/db.ts); addons stay external.
  external: ['@napi-rs/xattr', 'node-pty', '*.node'],
  logLevel: 'warning',
};
rmSync('dist/wharf.cjs.cache', { force: true });
await bundleScript('src/cli/main.ts', 'dist/wharf.cjs');

// The Node monitor of earlier builds (the monitor is native/monitor/ now): its leftovers go.
for (const f of [
  'dist/monitor-main.mjs',
  'dist/monitor-main.cjs',
  'dist/monitor-bundle.cjs',
  'dist/monitor-bundle.cjs.map',
  'dist/monitor-bundle.cjs.cache',
]) {
  rmSync(f, { force: true });
}

/** One CommonJS script (bin/load-bundle.cjs runs it with V8's code cache), checked as the loader needs it. */
async function bundleScript(entry, outfile) {
  await build({
    ...common,
    format: 'cjs',
    entryPoints: [entry],
    outfile,
    // Minified: every command reads and deserialises the bundle before its first instruction, and a third of the
    // bytes is 6 ms less of that (measured: 16 -> 10 ms). Stack traces map back with `node --enable-source-maps`.
    minify: true,
    sourcemap: 'linked',
    // Modules find their neighbours (package.json, the monitor, the sendfile addon) from import.meta.url.
    define: {
      'import.meta.url': '__wharfImportMetaUrl',
      __WHARF_VERSION__: JSON.stringify(version),
      __WHARF_BUNDLED__: 'true',
    },
    banner: { js: "const __wharfImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    // import.meta.resolve is used only when running from TypeScript sources (tsx), never in the bundle.
    logOverride: { 'empty-import-meta': 'silent' },
  });
  assertNoDynamicImport(outfile);
  asciiOnly(outfile);
}

/**
 * Node 20 loses a script's dynamic-import callback when the script comes from the code cache: an import() left in a
 * bundle would fail at run time ("A dynamic import callback was not specified"). Externals load via require.
 */
function assertNoDynamicImport(file) {
  const leftover = /\bimport\((["'`])([^"'`]+)\1\)/.exec(readFileSync(file, 'utf8'));
  if (leftover)
    throw new Error(`${file} keeps a dynamic import(${leftover[1]}${leftover[2]}${leftover[1]}); load it with require`);
}

/**
 * Escape the few non-ASCII characters esbuild leaves (in comments and regular expressions) as \uXXXX, which means
 * the same in strings, templates, regular expressions and identifiers. Node reads an all-ASCII file into a one-byte
 * string several times faster, and V8 then scans half the bytes: 6 ms of every command's start-up here.
 */
function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  if (/String\.raw`[^`]*[\u0080-\uffff]/.test(text))
    throw new Error(`${file}: a String.raw template holds non-ASCII text`);
  const escaped = text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (escaped !== text) writeFileSync(file, escaped);
}
