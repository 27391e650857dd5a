import { setTimeout as sleep } from 'node:timers/promises';
import { shortId } from '../digest/index.js';
import { WharfError } from '../errors/index.js';
import type { EventLog } from '../events/index.js';
import { isMonitorAlive, readState, type Runc } from '../runtime/index.js';
import { pidAlive, testPausePoint } from '../util/index.js';
import { teardownNetwork } from '../network/index.js';
import { releaseUserns } from '../snapshot/index.js';
import { emitContainerEvent, emitVolumeEvents, signalNumber } from './events.js';
import { isoNow, stateFromMonitor } from './state.js';
import type { ContainerStore } from './store.js';
import type { ContainerRecord } from './types.js';

/**
 * The end of a container's run as TaskService sees it from outside the monitor: the teardown itself, whether the
 * monitor's teardown is still to come, waiting for it (or doing it when its monitor is gone), and stopping a
 * container whose monitor died.
 */

/** The container exited and its (live) monitor has not finished the teardown yet. */
export async function teardownPending(store: ContainerStore, id: string): Promise<boolean> {
  if (store.records.get(id)?.state.status !== 'running') return false;
  const stateDir = store.paths(id).stateDir;
  const monitorState = await readState(stateDir);
  return (
    monitorState?.status === 'exited' && !monitorState.cleanedUp && isMonitorAlive(monitorState.monitorPid, stateDir)
  );
}

/**
 * Wait until the record no longer says running: the monitor's cleanup command (or the attached client it handed the
 * teardown to) finished. When that teardown failed or can no longer happen, `teardown` does it here.
 */
export async function waitTornDown(
  store: ContainerStore,
  id: string,
  timeoutMs: number,
  teardown: (id: string) => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const stateDir = store.paths(id).stateDir;
  for (;;) {
    const r = store.records.get(id);
    if (r?.state.status !== 'running') return;
    const monitorState = await readState(stateDir);
    const delegatedToLiveClient =
      monitorState?.cleanupBy !== undefined &&
      monitorState.cleanupBy !== process.pid &&
      pidAlive(monitorState.cleanupBy);
    if (
      monitorState?.status === 'exited' &&
      !delegatedToLiveClient &&
      (monitorState.cleanedUp || !isMonitorAlive(monitorState.monitorPid, stateDir))
    ) {
      // The cleanup command (the teardown) failed or never ran: do it here.
      await teardown(id);
      return;
    }
    if (Date.now() > deadline)
      throw new WharfError('UNAVAILABLE', `container ${shortId(id)} did not finish its teardown`);
    await sleep(20);
  }
}

/**
 * The record says running but nothing runs and nobody is tearing the container down: a teardown killed half-way
 * (`rm -f` or `stop` killed after their kill, with the cleanup claimed), or a start killed after its claim when its
 * intent was rolled back already. The caller excludes containers a live process is starting (start-intent.ts).
 */
export async function teardownAbandoned(runc: Runc, store: ContainerStore, id: string): Promise<boolean> {
  if (store.records.get(id)?.state.status !== 'running') return false;
  const stateDir = store.paths(id).stateDir;
  const ms = await readState(stateDir); // a dead monitor's state reads as exited (monitorLost)
  if (ms && ms.status !== 'exited') return false;
  if (ms && !ms.monitorLost && !ms.cleanedUp && isMonitorAlive(ms.monitorPid, stateDir)) return false;
  if (ms?.cleanupBy !== undefined && ms.cleanupBy !== process.pid && pidAlive(ms.cleanupBy)) return false;
  const rs = await runc.tryState(id).catch(() => undefined);
  return !rs || rs.status === 'stopped'; // a process that lives without its monitor is stop's and kill's
}

/**
 * Stop a container whose monitor is gone, with runc alone: the signal, SIGKILL after the timeout (never when it is
 * negative: an hour), as the monitor's stop would. The caller tears it down after.
 */
export async function stopWithoutMonitor(
  runc: Runc,
  events: EventLog | undefined,
  rec: ContainerRecord,
  signal: string,
  timeoutSec: number,
): Promise<void> {
  const id = rec.id;
  const gone = async (): Promise<boolean> => {
    const rs = await runc.tryState(id).catch(() => undefined);
    return !rs || rs.status === 'stopped';
  };
  const send = async (sig: string): Promise<void> => {
    emitContainerEvent(events, 'kill', rec, { signal: signalNumber(sig) });
    await runc.kill(id, sig).catch(() => {});
    const rs = await runc.tryState(id).catch(() => undefined);
    if (rs?.status === 'paused') await runc.resume(id).catch(() => {});
  };
  if (timeoutSec !== 0) {
    await send(signal);
    const until = Date.now() + (timeoutSec < 0 ? 3_600_000 : timeoutSec * 1000);
    while (Date.now() < until && !(await gone())) await sleep(50);
  }
  if (!(await gone())) {
    await send('SIGKILL');
    for (let i = 0; i < 200 && !(await gone()); i++) await sleep(50);
  }
}

/**
 * A task's teardown after its exit (the monitor's cleanup command, the attached client it handed that to, or inline
 * when the monitor is gone): runc's record deleted, the rootfs and /dev/shm unmounted, the network released, the
 * exit recorded from the monitor's state (once: the record update decides which process recorded it), `--rm` done.
 * Nothing while the container still runs.
 */
export async function tearDownTask(
  runc: Runc,
  store: ContainerStore,
  events: EventLog | undefined,
  id: string,
  opts: { keep?: boolean; error?: string } = {},
): Promise<void> {
  const rec = store.records.get(id);
  if (!rec) return;
  const p = store.paths(id);
  const monitorState = await readState(p.stateDir);
  if (rec.state.status === 'running') {
    if (monitorState && monitorState.status !== 'exited') return; // still running: nothing to clean
    if (!monitorState || monitorState.monitorLost) {
      const rs = await runc.tryState(id).catch(() => undefined);
      if (rs && rs.status !== 'stopped') return; // monitor gone but the process lives: stop/kill handles it
    }
  }
  // The network is released while runc deletes and the rootfs is unmounted: nothing of the container runs any more,
  // and its parts (a veth's deletion alone waits ~30 ms for the kernel) need not wait for one another.
  const network =
    rec.network || rec.state.status === 'running'
      ? teardownNetwork(id, rec.network).then(
          () => undefined,
          (err: unknown) => err ?? new Error('network teardown failed'),
        )
      : undefined;
  let netErr: unknown;
  try {
    await runc.delete(id, { force: true }).catch(() => {});
    if (rec.idMap) releaseUserns(p.userns);
    await store.unmountRootfs(id);
    if (rec.hostConfig.IpcMode === 'shareable') await store.unmountShm(id);
    testPausePoint('teardown:after-unmount'); // the network's release may be half done meanwhile
  } finally {
    netErr = await network; // also when an unmount failed: a retry must not race this one
  }
  // The endpoints' addresses and names on user-defined networks (none recorded: nothing to do).
  if (!netErr) store.networks?.release(id);
  let recorded = false; // this process recorded the exit (the update is atomic: one process sees it running)
  // A teardown done already (rm -f's second call, after its stop's) changes nothing: no database write then.
  const current = store.records.get(id);
  const unchanged =
    current !== undefined &&
    current.state.status !== 'running' &&
    current.state.paused !== true &&
    (monitorState?.restartCount === undefined || current.restartCount === monitorState.restartCount) &&
    (netErr !== undefined || current.network === undefined);
  const updated = unchanged
    ? current
    : store.records.update(id, (r) => {
        if (r.state.status === 'running') {
          recorded = true;
          r.state = monitorState
            ? stateFromMonitor(r.state, monitorState)
            : { ...r.state, status: 'exited', exitCode: 255, finishedAt: isoNow() };
          if (opts.error && !monitorState) r.state.error = opts.error;
        }
        r.state.paused = false;
        if (monitorState?.restartCount !== undefined) r.restartCount = monitorState.restartCount;
        if (!netErr) delete r.network;
      });
  if (recorded) {
    // The monitor emitted the die itself, unless it was gone before it could.
    if (!monitorState || monitorState.monitorLost)
      emitContainerEvent(events, 'die', updated, { exitCode: String(updated.state.exitCode) });
    emitVolumeEvents(events, 'unmount', updated);
  }
  if (updated.hostConfig.AutoRemove && !opts.keep) {
    // A monitor that handed its teardown to this process wrote everything before it said so: nothing to wait for.
    const handedOver = monitorState?.cleanupBy === process.pid;
    await store.delete(updated, {
      volumes: true,
      ...(monitorState && !handedOver ? { monitorPid: monitorState.monitorPid } : {}),
    });
  }
  if (netErr) throw netErr;
}
