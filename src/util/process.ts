import type * as ChildProcessModule from 'node:child_process';
import type { SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { lazyBuiltin } from './builtin.js';
import { WharfError, isErrno } from '../errors/index.js';

const childProcess = lazyBuiltin<typeof ChildProcessModule>('node:child_process');

/**
 * node:child_process's spawn, the module loaded on first use: it costs ~2.5 ms of start-up, and a `run` spawns
 * nothing itself (its monitor spawns runc; the launcher starts the monitor natively).
 */
export const spawn = ((...args: Parameters<typeof ChildProcessModule.spawn>) =>
  childProcess().spawn(...args)) as typeof ChildProcessModule.spawn;

export interface RunResult {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  signal?: AbortSignal;
  /** Throw a WharfError when the exit code is not 0 (default true). */
  check?: boolean;
  /** Cap on captured output per stream, to keep a chatty tool from filling memory. */
  maxOutput?: number;
  stdio?: SpawnOptions['stdio'];
}

/**
 * Run a program with an argument array (never a shell string), capture its output, honour an AbortSignal.
 */
export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const maxOutput = opts.maxOutput ?? 8 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      signal: opts.signal,
      stdio: opts.stdio ?? ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      if (stdout.length < maxOutput) stdout += c;
    });
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      if (stderr.length < maxOutput) stderr += c;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT')
        reject(new WharfError('UNAVAILABLE', `${file}: not installed or not in PATH`, { cause: err }));
      else if (err.name === 'AbortError') reject(new WharfError('CANCELLED', `${file}: cancelled`, { cause: err }));
      else reject(err);
    });
    child.on('close', (code, signal) => {
      const res: RunResult = { code: code ?? 128 + (signal ? 9 : 0), signal, stdout, stderr };
      if ((opts.check ?? true) && code !== 0) {
        const msg = (stderr.trim() || stdout.trim()).split('\n').slice(-3).join('; ');
        reject(
          new WharfError('INTERNAL', `${file} ${args[0] ?? ''} failed (${signal ?? `exit ${code}`}): ${msg}`, {
            details: { ...res, args },
          }),
        );
        return;
      }
      resolve(res);
    });
    if (child.stdin) {
      child.stdin.on('error', () => {});
      child.stdin.end(opts.input ?? '');
    }
  });
}

/** Whether a process with this PID is running (EPERM means it is, only not ours to signal). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrno(err, 'EPERM');
  }
}

/**
 * Whether process `pid` still runs: pidAlive, but a zombie counts as ended. A detached child that outlived its parent
 * (a port relay, a detached exec) is reaped by init whenever init gets to it — here after a second or more — and
 * waiting for its PID to vanish waited for that.
 */
export function pidRunning(pid: number): boolean {
  if (!pidAlive(pid)) return false;
  try {
    return !/^\d+ \(.*\) [ZX] /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
