import { setTimeout as sleep } from 'node:timers/promises';
import { WharfError } from '../errors/index.js';
import { loadNativeAddon } from './native.js';
import { spawn } from './process.js';
import { testPausePoint } from './test-pause.js';

/** flock(2) in the network's addon (native/netlink.c): the lock below without a fork of Node and three execs. */
interface FlockAddon {
  /** Opens `path` (created if missing) and locks it, trying every 5 ms until `timeoutMs`; rejects with code EAGAIN. */
  flockAsync(path: string, timeoutMs: number): Promise<number>;
  flockRelease(fd: number): void;
}
function flockAddon(): FlockAddon | null {
  const hasFlock = (m: Partial<FlockAddon> | null): m is FlockAddon =>
    typeof m?.flockAsync === 'function' && typeof m.flockRelease === 'function';
  const a = loadNativeAddon<FlockAddon>('wharf_netlink', hasFlock);
  // Checked again: the loader keeps the first check's verdict per addon (netlink.ts loads it with its own check), and
  // an older build without flock must fall back to flock(1).
  return hasFlock(a) ? a : null;
}

export interface FileLockOptions {
  /** Seconds to wait for the lock (default 60; 0: not at all); a lock still held then fails with `LockBusyError`. */
  timeoutSec?: number;
  /** What the lock is for, in error messages ("publishing ports", "committing container …"). */
  purpose?: string;
  /**
   * Without flock(1) (a system without util-linux) run `fn` unlocked instead of failing (the port lock does so, as
   * before the lock existed).
   */
  unlockedWithoutFlock?: boolean;
}

/** Another process held the lock for as long as the caller would wait. */
export class LockBusyError extends WharfError {
  constructor(file: string, purpose: string, waited: number) {
    super('UNAVAILABLE', `cannot lock ${file} for ${purpose}: another process held it for ${waited} s`);
  }
}

/** flock(1)'s exit status when the lock stayed busy (its default, 1, is also that of other failures). */
const BUSY_EXIT = 75;

/**
 * Run `fn` holding an exclusive flock(2) on `file`, across processes. When this process ends for any reason, even
 * SIGKILL, the lock goes with it, so a lock is never left behind by a killed holder (unlike a PID file). Node has no
 * flock: the native addon takes it (the container, commit, `cp` and port locks are on the paths of `commit`, `cp`,
 * every RUN step of a build and every `run -p`), else util-linux's flock(1) holds it for us, as a child that keeps
 * it until its stdin closes. Both take the same lock, so processes of either kind exclude each other.
 * With WHARF_TEST_PAUSE_AT=lock:busy the process stops itself when it finds the lock taken (test/faults/).
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, opts: FileLockOptions = {}): Promise<T> {
  const purpose = opts.purpose ?? 'exclusive use';
  const wait = opts.timeoutSec ?? 60;
  const native = flockAddon();
  if (native) return withNativeLock(native, file, fn, purpose, wait);
  const holder = spawn(
    'flock',
    [
      '--exclusive',
      '--conflict-exit-code',
      String(BUSY_EXIT),
      ...(wait === 0 ? ['--nonblock'] : ['--timeout', String(wait)]),
      file,
      'sh',
      '-c',
      'echo locked; exec cat >/dev/null',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  holder.stdin?.on('error', () => {}); // flock gone early: its exit event reports it
  const release = (): void => {
    holder.stdin?.end();
  };
  let locked = true;
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      holder.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('locked\n')) resolve();
      });
      holder.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      holder.once('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' && opts.unlockedWithoutFlock) {
          locked = false;
          resolve();
        } else {
          reject(new WharfError('UNAVAILABLE', `cannot lock ${file} for ${purpose}: ${e.message}`));
        }
      });
      holder.once('exit', (code) => {
        if (!locked) return;
        if (code === BUSY_EXIT) return reject(new LockBusyError(file, purpose, wait));
        reject(
          new WharfError(
            'UNAVAILABLE',
            `cannot lock ${file} for ${purpose} (flock exited ${code}): ${err.trim() || 'timed out'}`,
          ),
        );
      });
    });
  } catch (err) {
    release();
    throw err;
  }
  try {
    return await fn();
  } finally {
    release();
  }
}

/**
 * withFileLock through the addon: one non-blocking try at a time, waiting between tries here rather than in the
 * addon, whose wait sleeps on a thread of libuv's pool: a few waiters in one process (the API service starting a
 * compose project) would hold every pool thread while the holder needs one for its files.
 */
async function withNativeLock<T>(
  a: FlockAddon,
  file: string,
  fn: () => Promise<T>,
  purpose: string,
  waitSec: number,
): Promise<T> {
  const deadline = Date.now() + waitSec * 1000;
  let fd: number | undefined;
  for (let tries = 0; fd === undefined; tries++) {
    try {
      fd = await a.flockAsync(file, 0);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'EAGAIN') throw new WharfError('UNAVAILABLE', `cannot lock ${file} for ${purpose}: ${e.message}`);
      if (tries === 0) testPausePoint('lock:busy');
      if (Date.now() >= deadline) throw new LockBusyError(file, purpose, waitSec);
      await sleep(5);
    }
  }
  try {
    return await fn();
  } finally {
    a.flockRelease(fd);
  }
}
