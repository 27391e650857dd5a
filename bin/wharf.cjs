// The CLI launcher, run by bin/wharf (a shell wrapper; see there why).
// Runs the compiled CLI (`npm install` / `npm run build` produce dist/); no transpiling at start-up.
// dist/wharf.cjs is the bundled CLI (faster start); dist/cli/main.js the unbundled one.
// CommonJS rather than an ES module: Node sets up its ES module loader only when the entry needs it (5 ms less).
'use strict';
const { accessSync, constants, existsSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

// `--version` is answered here, before the CLI bundle is parsed, so it costs only Node's own start-up.
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
  process.stdout.write(`Wharf version ${pkg.version}\n`);
  process.exit(0);
}

// WHARF_TRACE=file: start-up timeline for profiling by hand (the format of src/util/trace.ts).
const traceFile = process.env.WHARF_TRACE;
const trace = (label) => {
  if (!traceFile) return;
  const cpu = process.cpuUsage();
  const line = `${(performance.timeOrigin + performance.now()).toFixed(2)} ${process.pid} ${label} cpu=${((cpu.user + cpu.system) / 1000).toFixed(1)}\n`;
  writeFileSync(traceFile, line, { flag: 'a' });
};
trace('launcher');

const bundled = join(__dirname, '..', 'dist', 'wharf.cjs');

// `run` and `start` need a container monitor: start it now, in standby, so that its start-up overlaps this one's
// (src/runtime/standby.ts has the protocol). The native monitor when it is built (see native/monitor.c), else a
// second Node process. Unused, it exits when this process does.
const verbAt = verbIndex(argv);
const verb = verbAt < 0 ? undefined : argv[verbAt] === 'container' ? argv[verbAt + 1] : argv[verbAt];
const monitorMain = join(__dirname, '..', 'dist', 'monitor-main.cjs');
const nativeMonitor = join(__dirname, '..', 'build', 'Release', 'wharf-monitor');
if ((verb === 'run' || verb === 'start') && existsSync(monitorMain) && existsSync(bundled)) {
  const useNative =
    process.env.WHARF_NATIVE !== '0' &&
    process.env.WHARF_MONITOR !== 'node' &&
    isExecutable(nativeMonitor) &&
    !(verb === 'run' && wantsNodeMonitor(argv.slice(verbAt + (argv[verbAt] === 'container' ? 2 : 1))));
  const command = useNative ? [nativeMonitor] : [process.execPath, monitorMain];
  globalThis[Symbol.for('wharf.standbyMonitor')] = startStandby(command);
}

/**
 * Start `command --standby` detached, its stdin a pipe to this process (src/runtime/standby.ts). Through the small
 * native/spawn.c addon when it is built (posix_spawn, and no node:child_process to load: ~5 ms sooner), else
 * child_process.
 */
function startStandby(command) {
  if (process.env.WHARF_NATIVE !== '0') {
    try {
      const addon = require(join(__dirname, '..', 'build', 'Release', 'wharf_spawn.node'));
      const [pid, fd, notifyFd] = addon.spawnStandby(command[0], [...command.slice(1), '--standby']);
      return { command, pid, fd, notifyFd, exited: () => addon.exited(pid) };
    } catch {
      // not built, or the spawn failed: the portable way below
    }
  }
  const { spawn } = require('node:child_process');
  const child = spawn(command[0], [...command.slice(1), '--standby'], { detached: true, stdio: ['pipe', 'ignore', 'ignore'], cwd: '/' });
  child.on('error', () => {});
  child.stdin.on('error', () => {});
  child.unref();
  child.stdin.unref();
  return { command, child };
}

/** Where the verb is, after the global options (`--root DIR run …`, `container start …`); -1 without one. */
function verbIndex(args) {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--root' || a === '--log-level') i++;
    else if (!a.startsWith('-')) return i;
  }
  return -1;
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `run`'s options ask for a terminal (-t) or a memory limit (-m, which brings the OOM watch): the native
 * monitor hands those to the Node monitor, so a Node standby is the faster start then. A guess before the CLI parses
 * for real: a wrong one costs time, never correctness, as either standby serves any container.
 */
function wantsNodeMonitor(args) {
  // `run`'s options that take a value (src/cli/commands/containers.ts), to tell options from the image and command.
  const RUN_VALUE_SHORT = new Set(['e', 'w', 'u', 'h', 'l', 'v', 'p', 'm']);
  const RUN_VALUE_LONG = new Set(['name', 'env', 'env-file', 'workdir', 'user', 'entrypoint', 'hostname', 'label', 'volume',
    'mount', 'volumes-from', 'publish', 'network', 'net', 'cap-add', 'cap-drop', 'memory', 'cpus', 'add-host', 'dns',
    'stop-signal', 'shm-size']);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--' || !a.startsWith('-') || a === '-') return false; // the image: the command's own flags follow
    if (a.startsWith('--')) {
      const [name, value] = a.slice(2).split('=', 2);
      if (name === 'tty') return value === undefined || value === 'true';
      if (name === 'memory') return true;
      if (RUN_VALUE_LONG.has(name) && value === undefined) i++;
      continue;
    }
    for (let k = 1; k < a.length; k++) {
      const c = a[k];
      if (c === 't' || c === 'm') return true;
      if (RUN_VALUE_SHORT.has(c)) {
        if (k === a.length - 1) i++; // the value is the next argument
        break;
      }
    }
  }
  return false;
}

// The bundled CLI (CommonJS, see scripts/bundle.mjs), compiled with V8's code cache.
const start = existsSync(bundled)
  ? Promise.resolve().then(() => require('./load-bundle.cjs').loadBundle(bundled))
  : import(require('node:url').pathToFileURL(join(__dirname, '..', 'dist', 'cli', 'main.js')).href);
start.then((m) => {
  trace('bundle loaded');
  return m.main(process.argv.slice(2));
}).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/')) {
    process.stderr.write('wharf: not built yet; run `npm install` (or `npm run build`) in the checkout\n');
  } else {
    process.stderr.write(`wharf: ${err?.stack ? err.stack : err}\n`);
  }
  process.exit(125);
});
