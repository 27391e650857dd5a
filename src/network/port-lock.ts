import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WharfError } from '../errors/index.js';

/**
 * Host ports are one machine-wide resource, shared by every Wharf root: the lock is too. /run/lock is cleared at boot.
 */
export function defaultPortLockFile(): string {
  return path.join(existsSync('/run/lock') ? '/run/lock' : os.tmpdir(), 'wharf-ports.lock');
}

/**
 * Run `fn` holding an exclusive flock(2) on `file`, so that checking a host port and publishing it (portmap's
 * iptables rules) is one step for concurrent `run -p`/`-P`: without it two runs could both find a port free and
 * both publish it. Node has no flock, so util-linux's flock(1) holds the lock for us, as a child that keeps it until
 * its stdin closes: when this process ends for any reason, even SIGKILL, the lock goes with it.
 */
export async function withPortLock<T>(fn: () => Promise<T>, opts: { file?: string; timeoutSec?: number } = {}): Promise<T> {
  const file = opts.file ?? defaultPortLockFile();
  const timeout = String(opts.timeoutSec ?? 60);
  const holder = spawn('flock', ['--exclusive', '--timeout', timeout, file, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const release = (): void => {
    holder.stdin?.end();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      holder.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('locked\n')) resolve();
      });
      holder.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      holder.once('error', (e) => reject(new WharfError('UNAVAILABLE', `cannot lock ${file} for publishing ports: ${e.message}`)));
      holder.once('exit', (code) => {
        reject(new WharfError('UNAVAILABLE', `cannot lock ${file} for publishing ports (flock exited ${code}): ${err.trim() || 'timed out'}`));
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
