import { readState, type MonitorState, type Runc } from '../runtime/index.js';
import type { ContainerRecord, ContainerView } from './types.js';

/** A state error that means the monitor itself was lost, as `monitorLost` does. */
const MONITOR_GONE = 'the container monitor is gone';

export const isoNow = (): string => new Date().toISOString();

/**
 * The record with its state checked against the monitor and runc: the record is the truth for what was asked, the
 * monitor's state file and runc are the truth for whether it runs.
 */
export async function reconcileView(rec: ContainerRecord, stateDir: string, runc: Runc): Promise<ContainerView> {
  const base = rec.state;
  if (base.status !== 'running') {
    return { ...rec, status: base.status, running: false };
  }
  const ms = await readState(stateDir);
  if (ms && ms.status !== 'exited') {
    return { ...rec, state: { ...base, ...(ms.pid !== undefined ? { pid: ms.pid } : {}) }, status: base.paused ? 'paused' : 'running', running: true };
  }
  if (!ms || lostMonitor(ms)) {
    // The monitor was killed: runc still knows whether the process lives.
    const rs = await runc.tryState(rec.id).catch(() => undefined);
    if (rs && (rs.status === 'running' || rs.status === 'paused' || rs.status === 'created')) {
      return { ...rec, state: { ...base, pid: rs.pid }, status: rs.status === 'paused' ? 'paused' : 'running', running: true };
    }
    return {
      ...rec,
      state: {
        ...base,
        status: 'exited',
        paused: false,
        exitCode: ms?.exitCode ?? 255,
        ...(ms?.finishedAt !== undefined ? { finishedAt: ms.finishedAt } : {}),
      },
      status: 'exited',
      running: false,
    };
  }
  return { ...rec, state: stateFromMonitor(base, ms), status: ms.error && !startedOk(ms) ? 'created' : 'exited', running: false };
}

function startedOk(ms: MonitorState): boolean {
  return !ms.error || lostMonitor(ms);
}

/** The monitor died without recording an exit (SIGKILL): the process may still run under runc. */
function lostMonitor(ms: MonitorState): boolean {
  return ms.monitorLost === true || ms.error === MONITOR_GONE;
}

/** The run state after an exit, from what the monitor recorded. */
export function stateFromMonitor(base: ContainerRecord['state'], ms: MonitorState): ContainerRecord['state'] {
  const failedStart = !startedOk(ms);
  return {
    ...base,
    status: failedStart ? 'created' : 'exited',
    paused: false,
    exitCode: ms.exitCode ?? 255,
    ...(ms.pid ? { pid: ms.pid } : {}),
    ...(ms.startedAt && !failedStart ? { startedAt: ms.startedAt } : {}),
    finishedAt: ms.finishedAt ?? isoNow(),
    ...(ms.error ? { error: ms.error } : {}),
    ...(ms.oomKilled ? { oomKilled: true } : {}),
  };
}
