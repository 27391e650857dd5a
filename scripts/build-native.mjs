#!/usr/bin/env node
// Builds Wharf's native parts, each only when its output is missing or older than its sources:
// - the addons native/sendfile.c → build/Release/wharf_sendfile.node and native/mount.c → wharf_mount.node, with
//   node-gyp (without them the registry streams blobs and mount(8) mounts snapshots), and native/digest.c →
//   wharf_digest.node (without it small blobs are hashed by node:crypto, which is slower to load), and
//   native/spawn.c → wharf_spawn.node (starts the container monitor; without it node:child_process does), and
//   native/netlink.c → wharf_netlink.node (links, addresses, routes and network namespaces for Wharf's own bridge
//   network; without it containers join that network through the CNI plugins);
// - the container monitor native/monitor/*.c → build/Release/wharf-monitor, a plain program built with the C compiler
//   (without it no container can run), and build/Release/wharf-monitor-asan, the same under AddressSanitizer and
//   UBSan for the monitor's tests.
// A failed build prints one warning line and exits 0, except with --strict (`npm run build`, so `npm test` and CI),
// where a monitor that does not build fails the build: without it no container runs. Runs from `npm install` and at
// the start of `npm run build`;
// use it (not `node-gyp rebuild` alone, which empties build/ and so removes the monitor) to rebuild by hand.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const release = path.join(root, 'build', 'Release');
const here = (...p) => p.map((s) => path.join(root, s));
const strict = process.argv.includes('--strict');
let monitorFailed = false;

if (process.platform !== 'linux') process.exit(0); // sendfile(2), signalfd(2) and inotify as used here are Linux's

/** Whether every output exists and is newer than every source. */
function upToDate(outputs, sources) {
  if (!outputs.every((o) => existsSync(o))) return false;
  const built = Math.min(...outputs.map((o) => statSync(o).mtimeMs));
  return sources.every((s) => existsSync(s) && statSync(s).mtimeMs <= built);
}

function buildAddons() {
  // wharf_digest needs the OpenSSL headers of the Node it is built for (binding.gyp skips it without them).
  const outputs = ['wharf_sendfile.node', 'wharf_mount.node', 'wharf_spawn.node', 'wharf_netlink.node'].map((f) =>
    path.join(release, f),
  );
  const sources = here(
    'binding.gyp',
    'native/sendfile.c',
    'native/mount.c',
    'native/spawn.c',
    'native/netlink.c',
    'native/rtnl.h',
    'native/digest.c',
    'native/errno_name.h',
    'native/napi_errno.h',
    'scripts/build-native.mjs',
  );
  const warn = (why) => {
    process.stderr.write(
      `warning: native addons not built (${why}); the registry streams blobs, mount(8) mounts snapshots\n`,
    );
    return false;
  };
  if (!sources.every((s) => existsSync(s))) return warn('sources missing');
  if (upToDate(outputs, sources)) return true;
  // node-gyp: the one on PATH inside npm scripts, else the copy bundled with npm.
  const candidates = [];
  const npmBundled = (dir) => path.join(dir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) candidates.push(npmBundled(path.resolve(path.dirname(process.env.npm_execpath), '..')));
  candidates.push(npmBundled(path.resolve(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm')));
  const gypJs = candidates.find((c) => existsSync(c));
  // Node's own headers when they are installed next to it (/usr/include/node): no download, works offline.
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const nodedir =
    process.env.npm_config_nodedir ??
    (existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
  const args = ['rebuild', '--release', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  const r = gypJs
    ? spawnSync(process.execPath, [gypJs, ...args], { cwd: root, encoding: 'utf8' })
    : spawnSync('node-gyp', args, { cwd: root, encoding: 'utf8' });
  if (r.error || r.status !== 0 || !outputs.every((o) => existsSync(o))) {
    const lastErr = `${r.stderr ?? ''}`
      .split('\n')
      .filter((l) => /error/i.test(l))
      .slice(-1)[0]
      ?.trim();
    return warn(r.error ? r.error.message : `node-gyp exited with ${r.status}${lastErr ? `: ${lastErr}` : ''}`);
  }
  return true;
}

/** The monitor's sources: native/monitor/*.c and its header, plus what they include from native/. */
function monitorSources() {
  const dir = path.join(root, 'native', 'monitor');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.c') || f.endsWith('.h'))
    .sort()
    .map((f) => path.join(dir, f));
}

/**
 * One build of the monitor: `flags` on top of the common ones. Into a temp name first: a launcher must never find a
 * half-written program; an older build must not stay in use after a failed one.
 */
function buildProgram(output, extraFlags, what) {
  const sources = monitorSources();
  const inputs = [...sources, ...here('native/errno_name.h', 'scripts/build-native.mjs')];
  if (sources.length === 0) return;
  if (upToDate([output], inputs)) return;
  mkdirSync(release, { recursive: true });
  const tmp = `${output}.${process.pid}.tmp`;
  // $CC may carry arguments ("ccache cc", "gcc -m32"); 64-bit file offsets: a json log may pass 2 GiB on 32-bit.
  const [cc, ...ccArgs] = (process.env.CC || 'cc').trim().split(/\s+/);
  const flags = ['-Wall', '-Wextra', '-Wno-unused-parameter', '-D_FILE_OFFSET_BITS=64', '-pthread', ...extraFlags];
  const r = spawnSync(cc, [...ccArgs, ...flags, '-o', tmp, ...sources.filter((s) => s.endsWith('.c'))], {
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    rmSync(output, { force: true });
    const lastErr = `${r.stderr ?? ''}`
      .split('\n')
      .filter((l) => /error/i.test(l))
      .slice(-1)[0]
      ?.trim();
    process.stderr.write(
      `${strict ? 'error' : 'warning'}: ${what} not built (${r.error ? r.error.message : lastErr || `${cc} exited with ${r.status}`})\n`,
    );
    monitorFailed = true;
    return;
  }
  renameSync(tmp, output);
}

function buildMonitor() {
  // Without it no container can run: src/runtime/monitor.ts reports UNAVAILABLE.
  buildProgram(path.join(release, 'wharf-monitor'), ['-O2'], 'the container monitor (containers cannot run)');
  // The same under AddressSanitizer and UBSan, for the monitor's tests (test/integration/runtime/monitor-asan.test.ts).
  buildProgram(
    path.join(release, 'wharf-monitor-asan'),
    ['-O1', '-g', '-fsanitize=address,undefined', '-fno-omit-frame-pointer', '-fno-sanitize-recover=undefined'],
    'the sanitizer build of the container monitor (its tests are skipped)',
  );
}

buildAddons(); // first: node-gyp rebuild starts from an empty build/ directory
buildMonitor();
if (strict && monitorFailed) process.exit(1);
