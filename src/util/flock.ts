import { WharfError } from '../errors/index.js';
import { spawn } from './process.js';

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
 * Run `fn` holding an exclusive flock(2) on `file`, across processes. Node has no flock, so util-linux's flock(1)
 * holds the lock for us, as a child that keeps it until its stdin closes: when this process ends for any reason, even
 * SIGKILL, the lock goes with it, so a lock is never left behind by a killed holder (unlike a PID file).
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, opts: FileLockOptions = {}): Promise<T> {
  const purpose = opts.purpose ?? 'exclusive use';
  const wait = opts.timeoutSec ?? 60;
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
