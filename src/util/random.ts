import { closeSync, openSync, readSync } from 'node:fs';
import type * as Crypto from 'node:crypto';
import { lazyBuiltin } from './builtin.js';

const crypto = lazyBuiltin<typeof Crypto>('node:crypto');

/**
 * Random bytes from the kernel's generator (/dev/urandom; crypto.randomBytes is seeded from it too) without
 * loading node:crypto: that module and its sixteen internal parts cost ~5 ms of start-up, and most commands (every
 * `run`) need a few random bytes for a name or an ID and nothing else from it.
 */
export function randomBytesSync(n: number): Buffer {
  const buf = Buffer.allocUnsafe(n);
  let fd: number;
  try {
    fd = openSync('/dev/urandom', 'r');
  } catch {
    return crypto().randomBytes(n); // no /dev (a chroot, a minimal sandbox)
  }
  try {
    for (let off = 0; off < n; ) {
      const got = readSync(fd, buf, off, n - off, null);
      if (got <= 0) return crypto().randomBytes(n);
      off += got;
    }
  } finally {
    closeSync(fd);
  }
  return buf;
}

/** `n` random bytes as 2n hex digits. */
export const randomHex = (n: number): string => randomBytesSync(n).toString('hex');

/** A uniformly random integer in [0, max) for 0 < max ≤ 2^32 (rejection sampling: no modulo bias). */
export function randomIndex(max: number): number {
  if (!Number.isInteger(max) || max <= 0 || max > 2 ** 32) throw new RangeError(`randomIndex: bad bound ${max}`);
  const limit = 2 ** 32 - (2 ** 32 % max);
  for (;;) {
    const v = randomBytesSync(4).readUInt32BE(0);
    if (v < limit) return v % max;
  }
}
