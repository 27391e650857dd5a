/** Unique names and subnets for network tests, so parallel tests (and other users of the machine) never collide. */
import { randomBytes } from 'node:crypto';
import { run } from '../../src/util/index.js';

/** A short unique suffix: interface names are limited to 15 characters. */
export const uniqueSuffix = (): string => randomBytes(3).toString('hex');

/** The IPv4 prefixes this namespace already routes (so a test's subnet never overlaps one in use). */
async function usedPrefixes(): Promise<string[]> {
  const routes = JSON.parse((await run('ip', ['-j', 'route', 'show', 'table', 'all'])).stdout) as Array<{
    dst: string;
  }>;
  return routes.map((r) => r.dst);
}

/** A free 10.X.Y.0/24 (X in 200..249), as its first three octets "10.X.Y". */
export async function freeSubnet24(): Promise<string> {
  const used = (await usedPrefixes()).join(' ');
  for (let i = 0; i < 50; i++) {
    const [a, b] = randomBytes(2);
    const base = `10.${200 + (a! % 50)}.${b!}`;
    if (!used.includes(`${base}.`)) return base;
  }
  throw new Error('no free 10.x.y.0/24 found');
}

/** `ip -j ... ` parsed; `netns` runs it inside that named namespace. */
export async function ipJson<T>(args: string[], netns?: string): Promise<T> {
  const full = netns ? ['-n', netns, '-j', ...args] : ['-j', ...args];
  const out = (await run('ip', full)).stdout.trim();
  return JSON.parse(out || '[]') as T;
}
