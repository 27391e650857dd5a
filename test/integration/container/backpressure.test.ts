/**
 * Back-pressure from a slow reader of the CLI's stdout: `logs -f` and an attached `run` read only as fast as the
 * reader takes their output (the container blocks on its full pipe, as under Docker), so the CLI's memory stays
 * bounded however much flows; and a reader that goes away ends the CLI as it ends Docker's (`logs`/`exec`: killed by
 * SIGPIPE, quietly; attached `run`: one line, status 1, the container keeps running).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ok, WHARF_BIN } from '../../helpers/cli.js';
import { withBusybox, type Fixture } from './fixture.js';

let f: Fixture;
before(async () => {
  f = await withBusybox('wharf-backpressure-');
});
after(async () => {
  await f?.cleanup();
});

/** 1000-byte lines (so that the json-file log is not much larger than the output), `mb` MB of them. */
const writeMb = (mb: number): string => `yes "$(printf '%0999d' 0)" | head -c ${mb * 1_000_000}`;
const READ_RATE = 1_000_000; // bytes per second
const SAMPLE_S = 8;
const MAX_GROWTH_KB = 64 * 1024;

function wharf(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(WHARF_BIN, ['--root', f.root, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}

function rssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Read the child's stdout at READ_RATE for SAMPLE_S seconds, sampling its RSS from the first byte read on.
 * Returns the RSS growth over that time and the bytes read.
 */
async function slowRead(child: ChildProcessWithoutNullStreams): Promise<{ growthKb: number; read: number }> {
  let read = 0;
  let start = 0;
  const first = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.on('data', (d: Buffer) => {
    if (start === 0) start = Date.now();
    read += d.length;
    const wait = start + (read / READ_RATE) * 1000 - Date.now();
    if (wait > 0) {
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), wait);
    }
  });
  await first;
  const base = rssKb(child.pid!) ?? 0;
  let max = base;
  for (let i = 0; i < SAMPLE_S * 4; i++) {
    await sleep(250);
    max = Math.max(max, rssKb(child.pid!) ?? 0);
  }
  return { growthKb: max - base, read };
}

function exited(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
}

function collect(s: NodeJS.ReadableStream): () => string {
  let text = '';
  s.setEncoding('utf8');
  s.on('data', (c: string) => (text += c));
  return () => text;
}

test('logs -f against a slow reader: memory stays bounded while 150 MB of log wait', async (t) => {
  t.after(async () => {
    await f.cli(['rm', '-f', 'bp-logs']);
  });
  ok(await f.cli(['run', '-d', '--name', 'bp-logs', 'busybox', 'sh', '-c', `${writeMb(150)}; sleep 1000`]), 'run -d');
  // Let the log fill up first: without back-pressure `logs -f` would read all of it into memory at once.
  await sleep(3000);
  const child = wharf(['logs', '-f', 'bp-logs']);
  const stderr = collect(child.stderr);
  const { growthKb, read } = await slowRead(child);
  child.kill('SIGKILL');
  await exited(child);
  t.diagnostic(`logs -f: RSS grew ${growthKb} kB while the reader took ${read} bytes`);
  assert.ok(read > 0 && read < (SAMPLE_S + 2) * READ_RATE, `the reader set the pace (${read} bytes)`);
  assert.ok(growthKb < MAX_GROWTH_KB, `RSS grew ${growthKb} kB, more than ${MAX_GROWTH_KB} kB: ${stderr()}`);
});

test('attached run against a slow reader: memory stays bounded and the container waits for the reader', async (t) => {
  t.after(async () => {
    await f.cli(['rm', '-f', 'bp-run']);
  });
  const child = wharf(['run', '--name', 'bp-run', 'busybox', 'sh', '-c', writeMb(600)]);
  const stderr = collect(child.stderr);
  const { growthKb, read } = await slowRead(child);
  t.diagnostic(`attached run: RSS grew ${growthKb} kB while the reader took ${read} bytes`);
  // The container is blocked on its pipe, not done: the log holds little more than what was read.
  const logged = (await f.cli(['inspect', '-f', '{{.State.Running}}', 'bp-run'])).stdout.trim();
  child.kill('SIGKILL');
  await exited(child);
  assert.equal(logged, 'true', 'the container still runs, held back by the slow reader');
  assert.ok(growthKb < MAX_GROWTH_KB, `RSS grew ${growthKb} kB, more than ${MAX_GROWTH_KB} kB: ${stderr()}`);
});

test('a reader that goes away: logs ends by SIGPIPE quietly, attached run says so and exits 1 (as Docker)', async (t) => {
  t.after(async () => {
    await f.cli(['rm', '-f', 'bp-pipe', 'bp-pipe-run']);
  });
  ok(await f.cli(['run', '-d', '--name', 'bp-pipe', 'busybox', 'sh', '-c', 'yes 0123456789']), 'run -d');
  for (const args of [
    ['logs', '-f', 'bp-pipe'],
    ['exec', 'bp-pipe', 'yes', 'abc'],
  ]) {
    const child = wharf(args);
    const stderr = collect(child.stderr);
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.stdout.destroy(); // `| head -1`
    const end = await exited(child);
    assert.deepEqual(end, { code: null, signal: 'SIGPIPE' }, `${args[0]}: ${stderr()}`);
    assert.equal(stderr(), '', `${args[0]} is quiet`);
  }
  const child = wharf(['run', '--name', 'bp-pipe-run', 'busybox', 'sh', '-c', 'yes 0123456789']);
  const stderr = collect(child.stderr);
  await new Promise((resolve) => child.stdout.once('data', resolve));
  child.stdout.destroy();
  const end = await exited(child);
  assert.deepEqual(end, { code: 1, signal: null }, stderr());
  assert.equal(stderr(), 'write /dev/stdout: broken pipe\n');
  assert.equal((await f.cli(['inspect', '-f', '{{.State.Running}}', 'bp-pipe-run'])).stdout.trim(), 'true');
});
