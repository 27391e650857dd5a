import { accessSync, constants } from 'node:fs';
import type * as Os from 'node:os';
import * as path from 'node:path';
import { lazyBuiltin, withFileLock } from '../util/index.js';

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
 * it. flock(2)'s lock (util/flock.ts: natively, or through flock(1)); with neither, ports are published unlocked, as
 * before the lock existed.
 */
export async function withPortLock<T>(
  fn: () => Promise<T>,
  opts: { file?: string; timeoutSec?: number } = {},
): Promise<T> {
  return withFileLock(opts.file ?? defaultPortLockFile(), fn, {
    timeoutSec: opts.timeoutSec ?? 60,
    purpose: 'publishing ports',
    unlockedWithoutFlock: true,
  });
}
