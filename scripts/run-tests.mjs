#!/usr/bin/env node
// Runs every *.test.ts under the given directories (default: test/ and src/) with node:test through tsx.
// Node 20's test runner does not match .ts files by itself, so we list them here.
//
// Beyond plain `node --test`:
// - every test and hook gets a timeout (WHARF_TEST_TIMEOUT_MS, see scripts/test-timeout.mjs), and every test file
//   one too (WHARF_TEST_FILE_TIMEOUT_MS, node's --test-timeout, which on Node 20 bounds a whole file), so that a hung
//   test fails by name instead of stalling the run;
// - skipped tests are collected (scripts/skip-reporter.mjs), and under CI=true (or WHARF_TEST_STRICT_SKIPS=1) a skip
//   that test/skip-allowlist.json does not name fails the run (scripts/skip-policy.mjs).
// Node's own reporter prints the run as usual: spec on a terminal, TAP otherwise (its closing `# pass N` and
// `# fail N` lines are what CI reads), or the one given with --test-reporter=NAME.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { availableParallelism, tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeSkip, judgeSkips, loadAllowList, readSkips, strictSkips } from './skip-policy.mjs';
import { testTimeoutFromEnv } from './test-timeout.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Long enough for the slowest test file (docs/development.md has the measurements). */
const DEFAULT_FILE_TIMEOUT_MS = 600_000;

const args = process.argv.slice(2);
const roots = args.filter((a) => !a.startsWith('-'));
const reporterArg = args.find((a) => a.startsWith('--test-reporter='));
const passthrough = args.filter((a) => a.startsWith('-') && a !== reporterArg);
const files = [];
const walk = (dir) => {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries.sort()) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(p);
  }
};
for (const r of roots.length ? roots : ['test', 'src']) {
  if (statSync(r, { throwIfNoEntry: false })?.isFile()) files.push(r);
  else walk(r);
}
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const allowListFile = process.env.WHARF_TEST_SKIP_ALLOWLIST ?? join(root, 'test', 'skip-allowlist.json');
const allowList = loadAllowList(allowListFile); // read before the run: a broken list fails at once, not after it
testTimeoutFromEnv(process.env); // likewise a malformed WHARF_TEST_TIMEOUT_MS
const fileTimeout = process.env.WHARF_TEST_FILE_TIMEOUT_MS || String(DEFAULT_FILE_TIMEOUT_MS);
// Integration tests wait on processes and I/O more than CPU, so run a few more files than cores.
const concurrency = process.env.WHARF_TEST_CONCURRENCY ?? String(Math.max(2, availableParallelism() + 1));
const scratch = mkdtempSync(join(tmpdir(), 'wharf-run-tests-'));
const skipsFile = join(scratch, 'skips.jsonl');
const reporter = reporterArg?.slice('--test-reporter='.length) ?? (process.stdout.isTTY ? 'spec' : 'tap');
const nodeArgs = [
  '--expose-internals', // for scripts/test-timeout-preload.mjs: node:test's Test class
  '--import',
  'tsx',
  '--import',
  pathToFileURL(join(root, 'scripts', 'test-timeout-preload.mjs')).href,
  '--test',
  `--test-concurrency=${concurrency}`,
  `--test-timeout=${fileTimeout}`,
  // Not --test-force-exit: on Node 20 a file's process then exits before its report is written out, and its last
  // tests vanish from the run without a failure. So a test that timed out but left what it waited on running (a
  // child process, a socket) holds its file until the file's timeout.
  `--test-reporter=${reporter}`,
  '--test-reporter-destination=stdout',
  `--test-reporter=${pathToFileURL(join(root, 'scripts', 'skip-reporter.mjs')).href}`,
  `--test-reporter-destination=${skipsFile}`,
  ...passthrough,
  ...files,
];
const child = spawn(process.execPath, nodeArgs, { stdio: 'inherit' });
child.on('close', (code, signal) => {
  let status = code ?? (signal ? 1 : 0);
  let skips = [];
  try {
    skips = readSkips(readFileSync(skipsFile, 'utf8'), root);
  } catch {
    /* no skips file: the run died early */
  }
  rmSync(scratch, { recursive: true, force: true });
  const { denied } = judgeSkips(skips, allowList);
  if (denied.length > 0) {
    const strict = strictSkips(process.env);
    const rel = allowListFile.startsWith(root) ? allowListFile.slice(root.length + 1) : allowListFile;
    console.error(`\n${strict ? 'error' : 'note'}: ${denied.length} skipped test(s) not on ${rel}:`);
    for (const s of denied) console.error(`  ${describeSkip(s)}`);
    if (strict) {
      console.error('Under CI a skip is a failure: make the test run, or add it to the allow-list with the reason.');
      status = status || 1;
    }
  }
  process.exit(status);
});
