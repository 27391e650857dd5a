// The CLI launcher, run by bin/wharf (a shell wrapper; see there why).
// Runs the compiled CLI (`npm install` / `npm run build` produce dist/); no transpiling at start-up.
// dist/wharf.cjs is the bundled CLI (faster start); dist/cli/main.js the unbundled one.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

// `--version` is answered here, before the CLI bundle is parsed, so it costs only Node's own start-up.
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`Wharf version ${pkg.version}\n`);
  process.exit(0);
}

const bundled = new URL('../dist/wharf.cjs', import.meta.url);

// `run` and `start` need a container monitor, a second Node process: start it now, in standby, so that its start-up
// overlaps this one's (src/runtime/standby.ts has the protocol). Unused, it exits when this process does.
const verb = verbOf(argv);
const monitorMain = new URL('../dist/monitor-main.mjs', import.meta.url);
if ((verb === 'run' || verb === 'start') && existsSync(monitorMain) && existsSync(bundled)) {
  const { spawn } = await import('node:child_process');
  const script = fileURLToPath(monitorMain);
  const child = spawn(process.execPath, [script, '--standby'], { detached: true, stdio: ['pipe', 'ignore', 'ignore'], cwd: '/' });
  child.on('error', () => {});
  child.stdin.on('error', () => {});
  child.unref();
  child.stdin.unref();
  globalThis[Symbol.for('wharf.standbyMonitor')] = { child, execPath: process.execPath, script };
}

/** The verb after the global options (`--root DIR run …`, `container start …`). */
function verbOf(args) {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--root' || a === '--log-level') i++;
    else if (!a.startsWith('-')) return a === 'container' ? args[i + 1] : a;
  }
  return undefined;
}

/**
 * The bundled CLI (CommonJS, see scripts/bundle.mjs) compiled with V8's code cache: the cache next to the bundle
 * is written (atomically) by the first command that finds it missing or stale; a read-only install runs without.
 */
function loadBundle(file) {
  const cacheFile = `${file}.cache`;
  let cached;
  try {
    cached = readFileSync(cacheFile);
  } catch {
    cached = undefined;
  }
  const script = new Script(Module.wrap(readFileSync(file, 'utf8')), {
    filename: file,
    ...(cached ? { cachedData: cached } : {}),
  });
  if (!cached || script.cachedDataRejected) {
    // At exit, so that the functions this command compiled are in the cache too.
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
  script.runInThisContext().call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
  return mod.exports;
}

const start = existsSync(bundled)
  ? Promise.resolve().then(() => loadBundle(fileURLToPath(bundled)))
  : import(new URL('../dist/cli/main.js', import.meta.url).href);
start.then((m) => m.main(process.argv.slice(2))).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/')) {
    process.stderr.write('wharf: not built yet; run `npm install` (or `npm run build`) in the checkout\n');
  } else {
    process.stderr.write(`wharf: ${err && err.stack ? err.stack : err}\n`);
  }
  process.exit(125);
});
