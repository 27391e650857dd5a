/**
 * Unread output is not held in memory (issue 16, finding 5): `logs -f` reached 510 MB and an attached `run` 670 MB
 * against a slow reader. Each is run here with far more output than the bound, read by a reader that takes it at a
 * limited pace, and the CLI process's peak resident set (VmHWM) must stay under LIMIT_KB: a memory bound, not a
 * timing one. A reader that goes away ends the command quietly, with Docker's exit status.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ok, WHARF_BIN } from '../helpers/cli.js';
import { withBusybox, type Fixture } from '../integration/container/fixture.js';

/**
 * The bound: the issue's 64 MB as MiB (the kB of /proc/PID/status are KiB), plus 2 MiB for the spread between runs
 * (~3 MiB, from when the collector runs), so that the test fails on a regression and not on noise. `node -e 0`
 * alone is ~40 MiB resident here (34 of it Node's own binary, mapped in as it runs), and the CLI ~50 MiB after
 * loading its bundle, SQLite and the engine (`ps`), ~58 MiB when `run` has started a container. With 600 MB flowing, read at 100 kB/s and then at
 * full speed, the peaks (VmHWM) measured here are 59.9-62.8 MiB for `logs -f` and 60-61.5 MiB for an attached `run`
 * over 19 runs (before: 95 and 103 MiB, and ~500/650 MiB before the first fix). What was cut: V8's young generation
 * (bin/wharf: 1 MB semi-spaces, not 16 MB; 2 MB ones peaked at 62.7-64.2 MiB), a new buffer per read left for the GC
 * (one reused read buffer on the log file and on the attach socket, whose output goes to stdout without a copy),
 * per-thread malloc arenas (bin/wharf), and a code cache rejected for other V8 flags (the monitor's cleanup command
 * runs with bin/wharf's; cli-basics.test.ts tests a junk cache on a copy of the bundle, not on the one every test
 * uses: a CLI compiling the bundle from source is ~5 MiB bigger). Most of what is left is Node's binary touched by
 * the streaming code and its optimizing compiler. Output held in memory would show as hundreds of MiB.
 */
const LIMIT_KB = 66 * 1024;
/** Bytes that flow in each case: ten times the bound. */
const FLOW = 600 * 1024 * 1024;
/** The reader first takes SLOW_RATE bytes a second for SLOW_MS (every buffer on the way fills), then all it gets. */
const SLOW_RATE = 100 * 1024;
const SLOW_MS = 3000;

let f: Fixture;
before(async () => {
  f = await withBusybox('wharf-fault-backpressure-');
});
after(async () => {
  await f?.cleanup();
});

/** VmHWM (peak resident set, kB) of a process, or undefined once it is gone. */
function peakKb(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Run `wharf ARGS…`, read its stdout slowly until `want` bytes came (or it ended), sampling its peak RSS all along;
 * then close our end of the pipe (the reader goes away) and return the peak, the bytes read, exit code and stderr.
 */
async function slowRead(
  args: string[],
  want: number,
): Promise<{ peak: number; read: number; code: number | null; signal: string | null; stderr: string }> {
  const child = spawn(WHARF_BIN, ['--root', f.root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let peak = 0;
  let read = 0;
  let ended = false;
  void exited.then(() => (ended = true));
  const sample = setInterval(() => (peak = Math.max(peak, peakKb(child.pid!) ?? 0)), 20);
  const stdout = child.stdout;
  stdout.pause();
  const started = Date.now();
  try {
    while (read < want && !ended) {
      const slow = Date.now() - started < SLOW_MS;
      // At the slow rate: a chunk of what one second allows, then the rest of that second's pause.
      const chunk = (slow ? stdout.read(Math.min(SLOW_RATE / 10, want - read)) : stdout.read()) as Buffer | null;
      if (!chunk) {
        await sleep(2);
        continue;
      }
      read += chunk.length;
      if (slow) await sleep(100);
    }
    peak = Math.max(peak, peakKb(child.pid!) ?? 0);
  } finally {
    clearInterval(sample);
    stdout.destroy(); // the reader goes away
  }
  const done = await Promise.race([exited, sleep(20_000).then(() => undefined)]);
  if (!done) {
    child.kill('SIGKILL');
    assert.fail(`wharf ${args[0]} did not end after its reader went away`);
  }
  return { peak, read, ...done, stderr };
}

/** Lines of 1000 bytes: shorter ones only make `logs -f` slower (one JSON entry each), not bigger. */
const PRODUCER = `head -c ${FLOW + 16 * 1024 * 1024} /dev/zero | tr '\\0' 'x' | fold -w 1000`;

test('logs -f of a container writing fast, read slowly: memory stays bounded; EPIPE ends it quietly', async (t) => {
  ok(await f.cli(['run', '-d', '--name', 'chatty', 'busybox', 'sh', '-c', `${PRODUCER}; sleep 100000`]), 'run');
  const r = await slowRead(['logs', '-f', 'chatty'], FLOW);
  assert.ok(r.read >= FLOW, `read ${r.read} bytes`);
  t.diagnostic(`logs -f peaked at ${r.peak} KiB`);
  assert.ok(r.peak < LIMIT_KB, `logs -f peaked at ${r.peak} kB`);
  // As the docker CLI (Go): killed by SIGPIPE, without a word.
  assert.equal(r.signal, 'SIGPIPE', `exit ${r.code} ${r.signal}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /EPIPE|Error|at /);
  ok(await f.cli(['rm', '-f', 'chatty']), 'rm');
});

test('attached run with more output than memory, read slowly: memory stays bounded, the output arrives', async (t) => {
  const r = await slowRead(['run', '--rm', '--name', 'chatty-run', 'busybox', 'sh', '-c', PRODUCER], FLOW);
  assert.ok(r.read >= FLOW, `read ${r.read} bytes`);
  t.diagnostic(`attached run peaked at ${r.peak} KiB`);
  assert.ok(r.peak < LIMIT_KB, `attached run peaked at ${r.peak} kB`);
  // Docker's CLI: one line about the broken pipe and exit 1 for an attached `run` (see cli/main.ts).
  assert.ok(r.code === 1 || r.code === 0, `exit ${r.code} ${r.signal}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /EPIPE|at /);
  for (let i = 0; i < 100; i++) {
    if ((await f.cli(['inspect', 'chatty-run'])).code !== 0) break;
    await sleep(100);
  }
});
