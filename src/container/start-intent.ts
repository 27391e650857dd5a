import { shortId } from '../digest/index.js';
import type { EventLog } from '../events/index.js';
import type { IntentRecord, Intents } from '../meta/index.js';
import { networkLeftovers, readHostNetworkState, teardownNetwork } from '../network/index.js';
import { isMonitorAlive, readState, type Runc } from '../runtime/index.js';
import type { ContainerStore } from './store.js';
import { tearDownTask } from './teardown.js';
import { withContainerLock } from './container-lock.js';
import { LockBusyError } from '../util/index.js';

/**
 * The intent of a container's start (`start`, `run`); its subject is the container's ID. Recorded before the start
 * mounts anything or touches the network, cleared once the monitor runs the container (or the failed start undid
 * itself). A start killed in between (issue 16, finding 3: within its first 0.15 s) left the rootfs mounted and the
 * namespace, veth, address lease and port rules on the host while the record did not name them yet; the intent
 * says that a dead process was in the middle of starting this container, and everything a start makes is found
 * from the container's ID (network/leftovers.ts), so the payload needs nothing.
 */
export const START_INTENT = 'start';

export type StartIntent = Record<string, never>;

export interface StartRecovery {
  intents: Intents;
  runc: Runc;
  store: ContainerStore;
  events?: EventLog | undefined;
}

/** The monitor of the container runs, or still has its own teardown to do: the start got through. */
async function monitorOwns(store: ContainerStore, id: string): Promise<boolean> {
  const stateDir = store.paths(id).stateDir;
  const ms = await readState(stateDir);
  if (!ms) return false;
  if (ms.status !== 'exited') return true; // readState says exited (monitorLost) when the monitor is dead
  return !ms.cleanedUp && isMonitorAlive(ms.monitorPid, stateDir);
}

/** What a killed start of container `id` left on the host, for `system check` (empty: nothing but the note). */
export async function startLeftovers(id: string, deps: StartRecovery): Promise<string[]> {
  if (await monitorOwns(deps.store, id)) return ['nothing (its monitor took the container over)'];
  const out: string[] = [];
  const rec = deps.store.records.get(id);
  if (await deps.store.rootfsMounted(id)) out.push('its root file system mounted');
  const ifNames = (rec?.network?.endpoints ?? []).map((e) => e.ifName);
  out.push(...networkLeftovers(id, ifNames, await readHostNetworkState()));
  if (rec?.state.status === 'running') out.push('a record that says running');
  return out;
}

/**
 * Undo a killed start. If its monitor was started, the container runs (or ends) under it like any other and only
 * the monitor's PID is missing from the record. Otherwise the task's teardown (idempotent: runc's record, the rootfs,
 * the recorded network, the record back from "running"), then whatever of the network was made before the record
 * named it, found by the container's ID; an `--rm` container is then removed. The intent goes last, so a rollback
 * killed half-way is taken up again.
 */
export async function rollBackStart(intent: IntentRecord<StartIntent>, deps: StartRecovery): Promise<void> {
  const id = intent.subject;
  const { store } = deps;
  if (store.records.get(id) && (await monitorOwns(store, id))) {
    const ms = await readState(store.paths(id).stateDir);
    store.records.update(id, (r) => {
      if (r.state.status !== 'running' || r.state.monitorPid || !ms) return;
      r.state.monitorPid = ms.monitorPid;
      if (ms.pid) r.state.pid = ms.pid;
    });
    deps.intents.clear(intent.id);
    return;
  }
  if (store.records.get(id))
    await tearDownTask(deps.runc, store, deps.events, id, { keep: true, error: 'its start was interrupted' });
  if (networkLeftovers(id, [], await readHostNetworkState()).length) await teardownNetwork(id);
  // An `--rm` container whose start failed is removed (task-start.ts; dockerd's AutoRemove after a failed start):
  // so is one whose start was killed, with its anonymous volumes, not left as Created.
  const rec = store.records.get(id);
  if (rec?.hostConfig.AutoRemove) await store.delete(rec, { volumes: true });
  deps.intents.clear(intent.id);
}

/**
 * Roll back the killed starts of container `id` (any command that looks at it calls this, through
 * TaskService.observe); how many. Cheap when there are none: one indexed query.
 */
export async function recoverStarts(id: string, deps: StartRecovery): Promise<number> {
  if (!deps.intents.stale(START_INTENT, id).length) return 0;
  let done = 0;
  try {
    // Read again under the lock: the process that held it may have rolled them back.
    await withStartLock(id, deps, async () => {
      for (const intent of deps.intents.stale<StartIntent>(START_INTENT, id)) {
        await rollBackStart(intent, deps);
        done++;
      }
    });
  } catch (err) {
    if (!(err instanceof LockBusyError)) throw err; // another process is rolling it back: its business
  }
  return done;
}

/** `rollBackStart` under the container's lock (`system check --repair`), unless another process rolled it back. */
export async function rollBackStartLocked(intent: IntentRecord<StartIntent>, deps: StartRecovery): Promise<void> {
  await withStartLock(intent.subject, deps, async () => {
    const fresh = deps.intents.get<StartIntent>(intent.id);
    if (fresh) await rollBackStart(fresh, deps);
  });
}

/**
 * The container's lock (container-lock.ts) for a rollback: a rollback by `system check --repair` and one by the
 * container's `rm` must not tear the container down at once. A few seconds: holders are rollbacks and teardowns.
 */
function withStartLock(id: string, deps: StartRecovery, fn: () => Promise<void>): Promise<void> {
  return withContainerLock(deps.store.paths(id).dir, id, fn, {
    timeoutSec: 30,
    purpose: `rolling back the start of container ${shortId(id)}`,
  });
}

/**
 * The containers with a start intent: being started by a live process (their mounts and network are in the making),
 * or left by a killed start (reported and rolled back as that). `system check` leaves them out of its other parts.
 */
export function containersInStart(intents: Intents): Set<string> {
  return new Set(intents.list(START_INTENT).map((i) => i.subject));
}

/** `system check`'s line about a killed start, with what it left. */
export function describeStart(intent: IntentRecord<StartIntent>, left: readonly string[]): string {
  return `unfinished start of ${shortId(intent.subject)} by process ${intent.owner.pid} (gone), since ${intent.created}: ${left.length ? left.join(', ') : 'nothing left but the note'}`;
}
