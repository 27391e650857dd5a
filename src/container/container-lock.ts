import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { withFileLock } from '../util/index.js';

/**
 * One commit of a container at a time, across processes: a second one waited on nothing and failed with `runc pause
 * …: container not running`, leaving the container frozen. A flock in the container's directory, released by the
 * kernel when its holder dies, so a killed commit never blocks the next.
 */
export function commitLockFile(containerDir: string): string {
  return path.join(containerDir, 'commit.lock');
}

/** The containers whose lock the current async call chain holds (so that a nested take does not wait on itself). */
const held = new AsyncLocalStorage<ReadonlySet<string>>();

/**
 * Run `fn` holding container `id`'s lock, across processes: the commit lock, also taken by whatever tears down or
 * rolls back a container nobody else owns any more — `system check --repair`, the rollback of a killed start or
 * commit, `rm` of a container whose monitor is gone — so that two processes never tear down the same container at
 * once (one deleted the record under the other's teardown, which then failed). Re-entrant within one call chain: a
 * rollback that `rm` triggers while holding the lock runs at once. A lock held longer than `timeoutSec` fails with
 * LockBusyError.
 */
export async function withContainerLock<T>(
  containerDir: string,
  id: string,
  fn: () => Promise<T>,
  opts: { timeoutSec: number; purpose: string },
): Promise<T> {
  const mine = held.getStore();
  if (mine?.has(id)) return fn();
  // A removed container's directory (and lock file) is gone: what is left of it (a rollback's last steps) is not
  // anybody's to race for.
  if (!existsSync(containerDir)) return fn();
  return withFileLock(commitLockFile(containerDir), () => held.run(new Set([...(mine ?? []), id]), fn), opts);
}
