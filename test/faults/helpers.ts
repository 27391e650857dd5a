/**
 * Fault injection: start a CLI command that stops itself at a named step (WHARF_TEST_PAUSE_AT), then kill it; fill a
 * small tmpfs root up to its last bytes for the full-disk tests.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli, WHARF_BIN } from '../helpers/cli.js';

/** The state letter of /proc/<pid>/stat (`T` = stopped), or undefined once the process is gone. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

export interface Stopped {
  child: ChildProcess;
  /** What the command wrote on stderr so far (and goes on collecting after a SIGCONT). */
  stderr: () => string;
  /** Kill the stopped command with SIGKILL and wait until it is gone. */
  kill: () => Promise<void>;
}

/**
 * Run `wharf --root ROOT ARGS…` with WHARF_TEST_PAUSE_AT=STEP and wait (bounded) until it has stopped itself there.
 * Fails if the command ends first (it never reached the step) or does not stop within the bound.
 */
export async function runUntilStep(root: string, args: string[], step: string): Promise<Stopped> {
  const child = spawn(WHARF_BIN, ['--root', root, ...args], {
    env: { ...process.env, WHARF_TEST_PAUSE_AT: step },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; i < 1200; i++) {
    if (gone) throw new Error(`${args.join(' ')} ended before step ${step}: ${stderr}`);
    if (procState(child.pid!) === 'T') {
      return {
        child,
        stderr: () => stderr,
        kill: async () => {
          child.kill('SIGKILL');
          await exited;
        },
      };
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  await exited;
  throw new Error(`${args.join(' ')} did not reach step ${step}`);
}

/** Wait (bounded) until process `pid`, started with WHARF_TEST_PAUSE_AT, has stopped itself (state `T`). */
export async function waitStopped(pid: number, what: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const st = procState(pid);
    if (st === 'T') return;
    if (st === undefined) throw new Error(`${what} ended before its step`);
    await sleep(50);
  }
  throw new Error(`${what} did not reach its step`);
}

/**
 * Fill the file system of `root` (a small tmpfs) with the file `<root>/fill` up to ENOSPC, then give back `freeKiB`
 * (room for the database's notes, not for a layer; 0: full to the byte). A filler already there is replaced, so every
 * call leaves the same free space. Returns the filler's path (remove it to give the space back).
 */
export function fillDisk(root: string, freeKiB: number): string {
  const fill = path.join(root, 'fill');
  execFileSync('rm', ['-f', fill]);
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${fill}`, 'bs=64k'], { stdio: 'ignore' });
  } catch {
    // dd stops at ENOSPC: the disk is full
  }
  if (freeKiB > 0) execFileSync('truncate', ['-s', `-${freeKiB}K`, fill]);
  return fill;
}

/** Unmount `dir` and everything mounted under it, deepest first (a test's tmpfs root and what ran on it). */
export function unmountAll(dir: string): void {
  const mounts = execFileSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' })
    .split('\n')
    .filter((m) => m === dir || m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) execFileSync('umount', ['-l', m]);
}

/** What a failed operation on `root` may leave behind that it should not: staging files and `system check`'s findings. */
export async function stagingLeftovers(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of ['ingest', 'tmp']) {
    const names = await fsp.readdir(path.join(root, d)).catch(() => []);
    if (names.length) out.push(`${d}/ holds ${names.join(', ')}`);
  }
  const check = await runCli(root, ['system', 'check']);
  if (check.code !== 0 || !check.stdout.includes('no problems')) out.push(`system check: ${check.stdout.trim()}`);
  return out;
}
