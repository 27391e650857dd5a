import { existsSync } from 'node:fs';
import { readState } from '../runtime/index.js';
import type { ContainerStore } from './store.js';
import { wantsRestore } from './restart-policy.js';
import type { ObservedContainer } from './types.js';

export interface RestoreResult {
  /** IDs of the containers started, in the order they were. */
  started: string[];
  /** Those whose start failed, with why (the others are still tried). */
  failed: Array<{ id: string; error: string }>;
}

/**
 * `system restore`: what Docker's daemon does when it starts, for a root without a daemon. Containers whose
 * run-time state was lost (the run directory is gone, as /run after a reboot, or the record says running while
 * neither a monitor nor runc has it) are started again when their restart policy says so (`wantsRestore`).
 * Idempotent: a container it started has its run-time state again, so a second call leaves it alone; one stopped by
 * hand since keeps the state of that stop.
 */
export async function restoreContainers(
  store: ContainerStore,
  observe: (id: string) => Promise<ObservedContainer>,
  start: (id: string) => Promise<unknown>,
): Promise<RestoreResult> {
  const result: RestoreResult = { started: [], failed: [] };
  // Oldest first, as the containers were made.
  for (const rec of store.records.all().reverse()) {
    const policy = rec.hostConfig.RestartPolicy;
    if (policy?.Name !== 'always' && policy?.Name !== 'unless-stopped') continue;
    const stateDir = store.paths(rec.id).stateDir;
    const c = await observe(rec.id);
    const monitorState = existsSync(stateDir) ? await readState(stateDir) : undefined;
    const runStateLost =
      !existsSync(stateDir) || (rec.state.status === 'running' && (!monitorState || monitorState.monitorLost === true));
    const want = wantsRestore({
      policy,
      manuallyStopped: rec.manuallyStopped === true,
      recordStatus: rec.state.status,
      runStateLost,
      running: c.running,
    });
    if (!want) continue;
    try {
      await start(rec.id);
      result.started.push(rec.id);
    } catch (err) {
      result.failed.push({ id: rec.id, error: (err as Error).message });
    }
  }
  return result;
}
