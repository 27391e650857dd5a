import { is } from '../errors/index.js';
import type { IntentRecord, Intents } from '../meta/index.js';
import type { LayerStore } from '../image/index.js';
import type { Runc } from '../runtime/index.js';
import type { Snapshotter } from '../snapshot/index.js';
import { LockBusyError } from '../util/index.js';
import { withContainerLock } from './container-lock.js';
import type { Digest } from '../digest/index.js';

/** The intent kind of a commit; its subject is the container's ID. */
export const COMMIT_INTENT = 'commit';

/** What a commit has done so far that a rollback must undo. */
export interface CommitIntent {
  /** It paused the running container (runc pause), which must be resumed. */
  paused: boolean;
  /** The active snapshot the new layer is being written into (LayerStore's `extract-…`). */
  snapshot?: string;
  /** The layer it committed (chain ID), not yet part of an image. */
  layer?: Digest;
}

export { commitLockFile } from './container-lock.js';

export interface CommitRecovery {
  intents: Intents;
  runc: Runc;
  snapshots: Snapshotter;
  layers: LayerStore;
}

/**
 * Undo what a killed commit left: resume the container it paused (if runc still says paused and Wharf's own record
 * does not: a user's `pause` is not ours to undo), drop the layer snapshot it was writing, and the layer it made that
 * no image uses. Then the intent goes. The caller holds the container's commit lock, so no live commit is undone.
 */
export async function rollBackCommit(
  intent: IntentRecord<CommitIntent>,
  deps: CommitRecovery,
  userPaused: boolean,
): Promise<string[]> {
  const done: string[] = [];
  const id = intent.subject;
  const p = intent.payload;
  if (p.paused && !userPaused) {
    const st = await deps.runc.tryState(id);
    if (st?.status === 'paused') {
      await deps.runc.resume(id);
      done.push('unpaused the container');
    }
  }
  if (p.snapshot && (await deps.snapshots.stat(p.snapshot))) {
    await deps.snapshots.remove(p.snapshot);
    done.push(`removed the partial layer ${p.snapshot}`);
  }
  if (p.layer) {
    if (deps.layers.get(p.layer)) {
      if ((await deps.layers.release([p.layer])).length) done.push(`removed the unused layer ${p.layer}`);
    } else if (await deps.snapshots.stat(p.layer)) {
      // Committed as a snapshot but killed before its layer row: nothing refers to it.
      await deps.snapshots.remove(p.layer).catch((err: unknown) => {
        if (!is(err, 'NOT_FOUND') && !is(err, 'FAILED_PRECONDITION')) throw err;
      });
      done.push(`removed the unrecorded layer ${p.layer}`);
    }
  }
  deps.intents.clear(intent.id);
  return done;
}

/**
 * Roll back the commits of container `id` whose process is gone. Cheap when there are none (one indexed query), so
 * every command that looks at a container calls it. It does nothing if another process keeps the commit lock for
 * more than a few seconds (that live commit recovers them itself before it pauses); `commit` passes `locked`.
 */
export async function recoverCommits(
  id: string,
  containerDir: string,
  deps: CommitRecovery,
  opts: { userPaused: boolean; locked?: boolean },
): Promise<string[]> {
  if (!deps.intents.stale(COMMIT_INTENT, id).length) return [];
  const undo = async (): Promise<string[]> => {
    const done: string[] = [];
    // Read again under the lock: another process may have rolled them back meanwhile.
    for (const i of deps.intents.stale<CommitIntent>(COMMIT_INTENT, id))
      done.push(...(await rollBackCommit(i, deps, opts.userPaused)));
    return done;
  };
  if (opts.locked) return undo();
  try {
    // Not at once: the lock of a commit killed just now is held until its flock(1) child has seen the end of its
    // stdin. A live holder is a commit that rolls these intents back first thing (or `system check` doing so): short.
    return await withContainerLock(containerDir, id, undo, {
      timeoutSec: 5,
      purpose: `committing container ${id.slice(0, 12)}`,
    });
  } catch (err) {
    if (err instanceof LockBusyError) return [];
    throw err;
  }
}
