/**
 * The monitor's config reader (native/monitor/config.c) under libFuzzer with AddressSanitizer and UBSan (issue 17): the
 * harness (monitor-config/fuzz-config.c) is built here with clang and run for a bounded number of inputs, seeded with
 * configs as src/runtime/monitor-config.ts writes them for the tests' containers. Any sanitizer report, crash or
 * timeout fails it. scripts/fuzz.sh runs the same harness for long.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeMonitorConfig } from '../../src/runtime/index.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** Inputs per `npm test` run (about a second); scripts/fuzz.sh asks for many more. */
const RUNS = Number(process.env.WHARF_FUZZ_MONITOR_RUNS ?? '50000');

let dir: string;
let harness: string;

/** Builds the harness with libFuzzer, ASan and UBSan. */
function buildHarness(out: string): void {
  execFileSync('clang', [
    '-g',
    '-O1',
    '-fsanitize=fuzzer,address,undefined',
    '-fno-sanitize-recover=undefined',
    '-fno-omit-frame-pointer',
    `-I${path.join(REPO, 'native/monitor')}`,
    path.join(REPO, 'test/fuzz/monitor-config/fuzz-config.c'),
    path.join(REPO, 'native/monitor/config.c'),
    '-o',
    out,
  ]);
}

/** The seed corpus: the configs the monitor gets for plain, interactive, health-checked and restarting containers. */
function writeSeeds(corpus: string): void {
  const base = {
    id: 'c0ffee',
    bundle: '/b',
    runcRoot: '/r',
    stateDir: '/s',
    logPath: '/l/c.log',
    tty: false,
    openStdin: false,
  };
  const configs = [
    encodeMonitorConfig(base),
    encodeMonitorConfig(
      {
        ...base,
        tty: true,
        openStdin: true,
        stdinOnce: true,
        waitForAttach: true,
        attachClaimsCleanup: true,
        attachClientPid: 42,
        watchOom: true,
        cgroupRoot: '/sys/fs/cgroup',
        cleanup: ['/usr/bin/node', 'a b', 'line\nbreak', 'back\\slash'],
        cleanupTimeoutMs: 1000,
        notifyFd: 3,
      },
      { cgroupsPath: '/wharf/c0ffee', memoryLimit: 8388608 },
    ),
    encodeMonitorConfig({
      ...base,
      health: {
        cmd: ['/bin/sh', '-c', 'exit 0'],
        intervalMs: 1000,
        timeoutMs: 500,
        startPeriodMs: 0,
        startIntervalMs: 100,
        retries: 3,
        timeoutText: '500ms',
      },
      restartPolicy: { name: 'on-failure', max: 3 },
      events: { path: '/e/events.log', name: 'web', image: 'busybox', nameFile: '/s/name', labels: { a: 'b' } },
      logDisabled: false,
      logMaxSize: 1024,
      logMaxFiles: 3,
    }),
  ];
  for (const [i, text] of configs.entries()) writeFileSync(path.join(corpus, `seed-${i}`), text);
}

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'wharf-fuzz-monitor-'));
  harness = path.join(dir, 'fuzz-config');
  buildHarness(harness);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test(`monitor config reader: ${RUNS} inputs under ASan and UBSan, no report`, () => {
  const corpus = path.join(dir, 'corpus');
  execFileSync('mkdir', ['-p', corpus]);
  writeSeeds(corpus);
  const r = spawnSync(harness, [`-runs=${RUNS}`, '-max_len=4096', '-timeout=10', '-seed=1', corpus], {
    cwd: dir, // crash-* files land here, removed with it
    encoding: 'utf8',
    env: {
      ...process.env,
      ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0',
      UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
    },
    timeout: Math.max(120_000, RUNS / 5), // libFuzzer does 17 000 inputs a second here under load
  });
  assert.equal(r.status, 0, `libFuzzer found a defect:\n${r.stderr.slice(-4000)}`);
  assert.match(r.stderr, new RegExp(`Done ${RUNS} runs`));
});
