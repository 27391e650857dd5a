// The CLI launcher, run by bin/wharf (a shell wrapper; see there why).
// Runs the compiled CLI (`npm install` / `npm run build` produce dist/); no transpiling at start-up.
// dist/wharf.mjs is the bundled CLI (faster start); dist/cli/main.js the unbundled one.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// `--version` is answered here, before the CLI bundle is parsed, so it costs only Node's own start-up.
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`Wharf version ${pkg.version}\n`);
  process.exit(0);
}

const bundled = new URL('../dist/wharf.mjs', import.meta.url);

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

const entry = existsSync(bundled) ? bundled.href : new URL('../dist/cli/main.js', import.meta.url).href;
import(entry).then((m) => m.main(process.argv.slice(2))).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/')) {
    process.stderr.write('wharf: not built yet; run `npm install` (or `npm run build`) in the checkout\n');
  } else {
    process.stderr.write(`wharf: ${err && err.stack ? err.stack : err}\n`);
  }
  process.exit(125);
});
