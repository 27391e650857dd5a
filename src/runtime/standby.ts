import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';

/**
 * A standby monitor: bin/wharf.cjs starts `node monitor-main.cjs --standby` as its very first act for `run` and
 * `start`, so that the monitor's Node start-up (tens of milliseconds) overlaps the CLI's own instead of following
 * it on the critical path of every container start. The standby waits for one line on stdin, the path of its
 * monitor.json; when its stdin closes without one (the CLI failed or had nothing to start) it exits.
 * The launcher leaves `{ child, execPath, script }` under this global key; startMonitor takes it at most once.
 */
export const STANDBY_FLAG = '--standby';
export const STANDBY_KEY = Symbol.for('wharf.standbyMonitor');

export interface StandbyMonitor {
  child: ChildProcess;
  execPath: string;
  script: string;
}

/** The launcher's standby, if it runs the same monitor entry and is still waiting; it is never handed out twice. */
export function takeStandbyMonitor(execPath: string, args: readonly string[]): ChildProcess | undefined {
  const g = globalThis as Record<symbol, unknown>;
  const s = g[STANDBY_KEY] as StandbyMonitor | undefined;
  if (!s) return undefined;
  delete g[STANDBY_KEY];
  const same = args.length === 1 && s.execPath === execPath && path.resolve(s.script) === path.resolve(args[0]!);
  const waiting = s.child.exitCode === null && s.child.signalCode === null && s.child.stdin?.writable === true;
  if (same && waiting) return s.child;
  s.child.stdin?.destroy();
  return undefined;
}

/** Hand a standby its config; resolves once the line is written to its stdin. */
export function activateStandby(child: ChildProcess, configPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stdin = child.stdin!;
    stdin.once('error', reject);
    stdin.end(`${configPath}\n`, () => resolve());
  });
}
