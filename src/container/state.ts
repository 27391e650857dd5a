import { readHealth, readState, type MonitorState, type Runc } from '../runtime/index.js';
import { healthProbe } from './health.js';
import type { ContainerRecord, ObservedContainer } from './types.js';

/** A state error that means the monitor itself was lost, as `monitorLost` does. */
const MONITOR_GONE = 'the container monitor is gone';

export const isoNow = (): string => new Date().toISOString();

/**
 * The record with its state checked against the monitor and runc: the record is the truth for what was asked, the
 * monitor's state file and runc are the truth for whether it runs.
 */
export async function observeContainer(rec: ContainerRecord, stateDir: string, runc: Runc): Promise<ObservedContainer> {
  const seen = await observeRun(rec, stateDir, runc);
  // The monitor's health.json, for a container with a check that ran (Docker's State.Health is null before).
  const health = healthProbe(rec.config) && rec.state.startedAt ? readHealth(stateDir) : undefined;
  return health ? { ...seen, health } : seen;
}

async function observeRun(rec: ContainerRecord, stateDir: string, runc: Runc): Promise<ObservedContainer> {
  const base = rec.state;
  if (base.status !== 'running') {
    return { ...rec, status: base.status, running: false };
  }
  const monitorState = await readState(stateDir);
  if (monitorState?.status === 'restarting') {
    // Docker's SetRestarting: still Running, no pid, the last run's exit code and end.
    const { pid: _pid, ...rest } = base;
    return {
      ...rec,
      restartCount: monitorState.restartCount ?? rec.restartCount,
      state: {
        ...rest,
        paused: false,
        exitCode: monitorState.exitCode ?? base.exitCode,
        ...(monitorState.finishedAt !== undefined ? { finishedAt: monitorState.finishedAt } : {}),
      },
      status: 'restarting',
      running: true,
    };
  }
  if (monitorState && monitorState.status !== 'exited') {
    const restarted = monitorState.restartCount !== undefined;
    return {
      ...rec,
      // After a restart the run is the monitor's latest: its start, its pid, a clean exit code.
      ...(restarted ? { restartCount: monitorState.restartCount! } : {}),
      state: {
        ...base,
        ...(monitorState.pid !== undefined ? { pid: monitorState.pid } : {}),
        ...(restarted && monitorState.startedAt ? { startedAt: monitorState.startedAt, exitCode: 0 } : {}),
        ...(restarted && monitorState.finishedAt ? { finishedAt: monitorState.finishedAt } : {}),
      },
      status: base.paused ? 'paused' : 'running',
      running: true,
    };
  }
  if (!monitorState || lostMonitor(monitorState)) {
    // The monitor was killed: runc still knows whether the process lives.
    const rs = await runc.tryState(rec.id).catch(() => undefined);
    if (rs && (rs.status === 'running' || rs.status === 'paused' || rs.status === 'created')) {
      return {
        ...rec,
        state: { ...base, pid: rs.pid },
        status: rs.status === 'paused' ? 'paused' : 'running',
        running: true,
      };
    }
    return {
      ...rec,
      state: {
        ...base,
        status: 'exited',
        paused: false,
        exitCode: monitorState?.exitCode ?? 255,
        ...(monitorState?.finishedAt !== undefined ? { finishedAt: monitorState.finishedAt } : {}),
      },
      status: 'exited',
      running: false,
    };
  }
  return {
    ...rec,
    restartCount: monitorState.restartCount ?? rec.restartCount,
    state: stateFromMonitor(base, monitorState),
    status: monitorState.error && !startedOk(monitorState) ? 'created' : 'exited',
    running: false,
  };
}

function startedOk(monitorState: MonitorState): boolean {
  // A restart that could not start its command ends the loop of a container that did run: it exited.
  return !monitorState.error || lostMonitor(monitorState) || (monitorState.restartCount ?? 0) > 0;
}

/** The monitor died without recording an exit (SIGKILL): the process may still run under runc. */
function lostMonitor(monitorState: MonitorState): boolean {
  return monitorState.monitorLost === true || monitorState.error === MONITOR_GONE;
}

/** The run state after an exit, from what the monitor recorded. */
export function stateFromMonitor(base: ContainerRecord['state'], monitorState: MonitorState): ContainerRecord['state'] {
  const failedStart = !startedOk(monitorState);
  return {
    ...base,
    status: failedStart ? 'created' : 'exited',
    paused: false,
    exitCode: monitorState.exitCode ?? 255,
    ...(monitorState.pid ? { pid: monitorState.pid } : {}),
    ...(monitorState.startedAt && !failedStart ? { startedAt: monitorState.startedAt } : {}),
    finishedAt: monitorState.finishedAt ?? isoNow(),
    ...(monitorState.error ? { error: monitorState.error } : {}),
    ...(monitorState.oomKilled ? { oomKilled: true } : {}),
  };
}
