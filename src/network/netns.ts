import { promises as fsp } from 'node:fs';
import { WharfError } from '../errors/index.js';
import { run } from '../util/index.js';
import { netnsInUserns } from '../snapshot/index.js';

const NETNS_DIR = '/var/run/netns';

export const netnsPath = (name: string): string => `${NETNS_DIR}/${name}`;

/**
 * A persistent named network namespace (`ip netns add`), bind-mounted under /var/run/netns. With `userns` (a
 * remapped container's user namespace file), the namespace is replaced by one that user namespace owns.
 */
export async function createNetns(name: string, userns?: string): Promise<string> {
  if (!/^[A-Za-z0-9_.-]{1,200}$/.test(name))
    throw new WharfError('INVALID_ARGUMENT', `invalid network namespace name "${name}"`);
  const res = await run('ip', ['netns', 'add', name], { check: false });
  if (res.code !== 0) {
    if (/File exists/.test(res.stderr))
      throw new WharfError('ALREADY_EXISTS', `network namespace ${name} already exists`);
    throw new WharfError('INTERNAL', `ip netns add ${name}: ${res.stderr.trim()}`);
  }
  if (userns) {
    try {
      netnsInUserns(userns, netnsPath(name));
    } catch (err) {
      await deleteNetns(name).catch(() => {});
      throw err;
    }
  }
  return netnsPath(name);
}

/** Remove a named namespace; a missing one is not an error (teardown is idempotent). */
export async function deleteNetns(name: string): Promise<void> {
  const res = await run('ip', ['netns', 'delete', name], { check: false });
  if (res.code !== 0 && !/No such file|Invalid argument|not found/i.test(res.stderr)) {
    throw new WharfError('INTERNAL', `ip netns delete ${name}: ${res.stderr.trim()}`);
  }
  await fsp.rm(netnsPath(name), { force: true }).catch(() => {});
}

export async function netnsExists(name: string): Promise<boolean> {
  try {
    await fsp.stat(netnsPath(name));
    return true;
  } catch {
    return false;
  }
}
