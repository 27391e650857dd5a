// The CLI launcher, run by bin/wharf (a shell wrapper; see there why).
// Runs the compiled CLI (`npm install` / `npm run build` produce dist/); no transpiling at start-up.
// dist/wharf.cjs is the bundled CLI (faster start); dist/cli/main.js the unbundled one.
// CommonJS rather than an ES module: Node sets up its ES module loader only when the entry needs it (5 ms less).
'use strict';
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
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

// The bundled CLI (CommonJS, see scripts/bundle.mjs), compiled with V8's code cache.
const start = existsSync(bundled)
  ? Promise.resolve().then(() => require('./load-bundle.cjs').loadBundle(bundled))
  : import(require('node:url').pathToFileURL(join(__dirname, '..', 'dist', 'cli', 'main.js')).href);
start
  .then((m) => {
    trace('bundle loaded');
    return m.main(process.argv.slice(2));
  })
  .catch((err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/')) {
      process.stderr.write('wharf: not built yet; run `npm install` (or `npm run build`) in the checkout\n');
    } else {
      process.stderr.write(`wharf: ${err?.stack ? err.stack : err}\n`);
    }
    process.exit(125);
  });
