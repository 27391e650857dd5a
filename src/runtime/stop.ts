import { WharfError } from '../errors/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { trace } from '../util/index.js';
import { monitorPaths, readState, requestNoRestart, waitExit, type AttachExit, type MonitorState } from './monitor.js';
import { signalThroughMonitor } from './monitor-signal.js';
import type { Runc } from './runc.js';

export interface StopOptions {
  runc: Runc;
  id: string;
  stateDir: string;
  /** The image's StopSignal or `--signal` (default SIGTERM). */
  signal?: string;
  /** Seconds before SIGKILL (default 10, as Docker); 0 kills at once, negative waits forever. */
  timeoutSec?: number;
  /** Called before each signal is sent (the stop signal, then SIGKILL): the caller's `kill` events. */
  onSignal?: (signal: string) => void;
  /**
   * The exit as an attach session claiming the cleanup sees it (`attach(…, { claimCleanup: true }).exit`): waited
   * for instead of polling the state file, and when the monitor delegated the cleanup, the caller does it (the
   * monitor's state then never says cleanedUp). Without it, or when the session ends without an exit frame, the
   * state file is polled.
   */
  exit?: Promise<AttachExit>;
  /** False when the caller knows the container is not paused: no `runc state` after each signal to thaw it. */
  mayBePaused?: boolean;
}

const gone = (err: unknown): boolean =>
  err instanceof WharfError && (err.code === 'NOT_FOUND' || err.code === 'FAILED_PRECONDITION');

/**
 * After `requestNoRestart` to a monitor between two runs: its state once it gave up (exited) or its next run, already
 * on its way, is up (running); at most 10 s.
 */
export async function restartSettled(stateDir: string): Promise<MonitorState | undefined> {
  let state = await readState(stateDir);
  for (let i = 0; i < 500 && (state?.status === 'restarting' || state?.status === 'starting'); i++) {
    await sleep(20);
    state = await readState(stateDir);
  }
  return state;
}

/**
 * `docker stop`: the stop signal, then SIGKILL after exactly the timeout; resolves with the final state once the
 * monitor has recorded the exit and run its cleanup, or delegated it to this process (the state's cleanupBy is our
 * pid then: see StopOptions.exit). A paused container is thawed so that the signal can be delivered.
 */
export async function stopContainer(opts: StopOptions): Promise<MonitorState> {
  let state = await readState(opts.stateDir);
  if (!state) throw new WharfError('NOT_FOUND', `container ${opts.id} has no monitor state`);
  // Before any signal: the exit it causes must not be restarted (Docker's stop ends the restart loop).
  requestNoRestart(opts.stateDir);
  // Between two runs of a restart policy: the monitor gives up within its back-off round, or its next run, already
  // on its way, comes up and is stopped below like any other.
  if (state.status === 'restarting' || state.status === 'starting') state = await restartSettled(opts.stateDir);
  if (!state || state.status === 'exited') return afterExit(opts, opts.exit);
  const timeout = opts.timeoutSec ?? 10;
  // A monitor that takes SIGNAL frames sends the signal itself (runc kill's kill(2), without exec'ing runc).
  const socket = state.signalFrames === true ? monitorPaths(opts.stateDir).socket : undefined;
  const send = async (signal: string): Promise<void> => {
    opts.onSignal?.(signal);
    try {
      trace(`stop: ${signal}`);
      const sent = socket !== undefined ? await signalThroughMonitor(socket, signal) : 'unavailable';
      if (sent === 'exited') return;
      if (sent === 'unavailable') await opts.runc.kill(opts.id, signal);
      trace('stop: signalled');
      if (opts.mayBePaused === false) return;
      const rs = await opts.runc.tryState(opts.id);
      if (rs?.status === 'paused') await opts.runc.resume(opts.id);
    } catch (err) {
      if (!gone(err)) throw err;
    }
  };
  if (timeout !== 0) {
    await send(opts.signal ?? 'SIGTERM');
    const ms = timeout < 0 ? 0 : timeout * 1000;
    if (opts.exit !== undefined) {
      const seen = await exitWithin(opts.exit, ms);
      if (seen) return afterExit(opts, Promise.resolve(seen));
    } else {
      try {
        await waitExit(opts.stateDir, ms, { cleanedUp: false });
        return await waitExit(opts.stateDir, 60_000);
      } catch (err) {
        if (!(err instanceof WharfError && err.code === 'UNAVAILABLE')) throw err;
      }
    }
  }
  await send('SIGKILL');
  return afterExit(opts, opts.exit);
}

/** The exit frame if it comes within `ms` (0: no limit), else undefined; the timer does not outlive the wait. */
async function exitWithin(exit: Promise<AttachExit>, ms: number): Promise<AttachExit | undefined> {
  if (ms === 0) return exit;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([exit, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The final state once the container exited: at once when the monitor delegated the cleanup to the caller's
 * session, else when the monitor's own cleanup finished (polled: the session ended without an exit frame, or
 * another client holds the cleanup).
 */
async function afterExit(opts: StopOptions, exit: Promise<AttachExit> | undefined): Promise<MonitorState> {
  const seen = exit !== undefined ? await exitWithin(exit, 60_000) : undefined;
  if (seen?.cleanupDelegated) {
    const state = await readState(opts.stateDir);
    if (state) return state;
  }
  return waitExit(opts.stateDir, 60_000);
}
