import { accessSync, constants } from 'node:fs';
import type * as Os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WharfError } from '../errors/index.js';
import { LockBusyError, lazyBuiltin, withFileLock } from '../util/index.js';
import { flockExclusive, flockRelease, netlinkAvailable } from './netlink.js';

const os = lazyBuiltin<typeof Os>('node:os'); // on first use: node:os costs ~1 ms of start-up

/**
 * Host ports are one machine-wide resource, shared by every Wharf root: the lock is too. In /run itself (cleared at
 * boot, and writable by root only: in the world-writable /run/lock or /tmp another user could take the name first
 * and block every `run -p`); the temp dir only where /run is not ours (tests, unusual systems).
 */
function defaultPortLockFile(): string {
  let dir = os().tmpdir();
  try {
    accessSync('/run', constants.W_OK);
    dir = '/run';
  } catch {
    /* not root, or no /run */
  }
  return path.join(dir, 'wharf-ports.lock');
}

/**
 * Run `fn` holding the machine-wide port lock, so that checking a host port and publishing it (portmap's iptables
 * rules) is one step for concurrent `run -p`/`-P`: without it two runs could both find a port free and both publish
 * it. The lock is flock(2)'s, taken natively (netlink.ts's flockExclusive: no fork of this process, no exec, on
 * every `run -p`), and through flock(1) only without the addon; without either ports are published unlocked, as
 * before the lock existed. Both take the same lock, so processes of either kind exclude each other.
 */
export async function withPortLock<T>(
  fn: () => Promise<T>,
  opts: { file?: string; timeoutSec?: number } = {},
): Promise<T> {
  const file = opts.file ?? defaultPortLockFile();
  const timeoutSec = opts.timeoutSec ?? 60;
  if (!netlinkAvailable())
    return withFileLock(file, fn, { timeoutSec, purpose: 'publishing ports', unlockedWithoutFlock: true });
  // One non-blocking try at a time, waiting between tries here, not in the addon: its wait sleeps on a thread of
  // libuv's pool, and a few `-p` starts in one process (the API service starting a compose project) would hold every
  // pool thread while the holder needs one for its files.
  const deadline = Date.now() + timeoutSec * 1000;
  let fd: number | undefined;
  while (fd === undefined) {
    try {
      fd = await flockExclusive(file, 0);
    } catch (err) {
      if (!(err instanceof WharfError && err.details?.errno === 'EAGAIN')) throw err;
      if (Date.now() >= deadline) throw new LockBusyError(file, 'publishing ports', timeoutSec);
      await sleep(5);
    }
  }
  try {
    return await fn();
  } finally {
    flockRelease(fd);
  }
}
