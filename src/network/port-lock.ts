import { accessSync, constants } from 'node:fs';
import type * as Os from 'node:os';
import * as path from 'node:path';
import { WharfError } from '../errors/index.js';
import { lazyBuiltin, spawn } from '../util/index.js';

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
 * Run `fn` holding an exclusive flock(2) on `file`, so that checking a host port and publishing it (portmap's
 * iptables rules) is one step for concurrent `run -p`/`-P`: without it two runs could both find a port free and
 * both publish it. Node has no flock, so util-linux's flock(1) holds the lock for us, as a child that keeps it until
 * its stdin closes: when this process ends for any reason, even SIGKILL, the lock goes with it. Without flock(1)
 * (a system without util-linux) ports are published unlocked, as before the lock existed.
 */
export async function withPortLock<T>(
  fn: () => Promise<T>,
  opts: { file?: string; timeoutSec?: number } = {},
): Promise<T> {
  const file = opts.file ?? defaultPortLockFile();
  const timeout = String(opts.timeoutSec ?? 60);
  const holder = spawn(
    'flock',
    ['--exclusive', '--timeout', timeout, file, 'sh', '-c', 'echo locked; exec cat >/dev/null'],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
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
        if (e.code === 'ENOENT') {
          locked = false;
          resolve();
        } else {
          reject(new WharfError('UNAVAILABLE', `cannot lock ${file} for publishing ports: ${e.message}`));
        }
      });
      holder.once('exit', (code) => {
        if (!locked) return;
        reject(
          new WharfError(
            'UNAVAILABLE',
            `cannot lock ${file} for publishing ports (flock exited ${code}): ${err.trim() || 'timed out'}`,
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
