import type { ChildProcess } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import * as path from 'node:path';

/**
 * A standby monitor: bin/wharf.cjs starts the monitor with `--standby` as its very first act for `run` and `start`
 * (the native build/Release/wharf-monitor when it is there, else `node monitor-main.cjs`), so that the monitor's
 * start-up overlaps the CLI's own instead of following it on the critical path of every container start. The
 * standby waits for one line on stdin, the path of its monitor.json; when its stdin closes without one (the CLI
 * failed or had nothing to start) it exits. The native monitor hands a config it cannot serve (a terminal, the OOM
 * watch) to the Node monitor named by the config's `fallback`.
 * The launcher leaves a StandbyMonitor under this global key; startMonitor takes it at most once.
 */
export const STANDBY_FLAG = '--standby';
export const STANDBY_KEY = Symbol.for('wharf.standbyMonitor');

/** Where a natively started standby has the write end of its notification pipe (MonitorConfig.notifyFd). */
export const STANDBY_NOTIFY_FD = 3;

/** What the launcher leaves: the standby's command line (without the flag) and how it was started. */
export type StandbyMonitor =
  | { command: string[]; child: ChildProcess }
  /**
   * Started by native/spawn.c: its pid, the write end of its stdin, the read end of its notification pipe (its fd
   * STANDBY_NOTIFY_FD), and whether it has exited (reaping it).
   */
  | { command: string[]; pid: number; fd: number; notifyFd?: number; exited: () => boolean };

/** A started monitor process, however it was started. */
export interface MonitorProcess {
  pid: number | undefined;
  hasExited(): boolean;
}

export const childMonitorProcess = (child: ChildProcess): MonitorProcess => ({
  pid: child.pid,
  hasExited: () => child.exitCode !== null || child.signalCode !== null,
});

/** A standby taken for one container: hand it the config path with `activate` (false when it is gone). */
export interface TakenStandby {
  process: MonitorProcess;
  /** Its notification pipe, now the caller's to read and close; set the config's notifyFd to STANDBY_NOTIFY_FD. */
  notifyFd?: number;
  activate(configPath: string): Promise<boolean>;
  /** Let it go unused (it exits when its stdin closes); closes the notification pipe too. */
  discard(): void;
}

const sameCommand = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => path.resolve(x) === path.resolve(b[i]!));

const closeQuietly = (fd: number): void => {
  try {
    closeSync(fd);
  } catch {
    /* closed already */
  }
};

/**
 * The launcher's standby, when it runs one of the accepted monitor commands and is still waiting. It is never handed
 * out twice, and one that is not taken is told to exit (its stdin closes).
 */
export function takeStandbyMonitor(accepted: ReadonlyArray<readonly string[]>): TakenStandby | undefined {
  const g = globalThis as Record<symbol, unknown>;
  const s = g[STANDBY_KEY] as StandbyMonitor | undefined;
  if (!s) return undefined;
  delete g[STANDBY_KEY];
  const known = Array.isArray(s.command) && accepted.some((c) => sameCommand(c, s.command));
  if ('child' in s) {
    const proc = childMonitorProcess(s.child);
    const stdin = s.child.stdin;
    if (!known || proc.hasExited() || stdin?.writable !== true) {
      stdin?.destroy();
      return undefined;
    }
    return {
      process: proc,
      activate: (configPath) =>
        new Promise((resolve) => {
          stdin.once('error', () => resolve(false));
          stdin.end(`${configPath}\n`, (err?: Error | null) => resolve(!err)); // EPIPE comes here first
        }),
      discard: () => stdin.destroy(),
    };
  }
  if (!known || s.exited()) {
    closeQuietly(s.fd);
    if (s.notifyFd !== undefined) closeQuietly(s.notifyFd);
    return undefined;
  }
  return {
    process: { pid: s.pid, hasExited: s.exited },
    ...(s.notifyFd !== undefined ? { notifyFd: s.notifyFd } : {}),
    activate: async (configPath) => {
      try {
        writeSync(s.fd, `${configPath}\n`); // a few bytes into an empty pipe; EPIPE when the standby died since
        return true;
      } catch {
        return false;
      } finally {
        closeQuietly(s.fd);
      }
    },
    discard: () => {
      closeQuietly(s.fd);
      if (s.notifyFd !== undefined) closeQuietly(s.notifyFd);
    },
  };
}
