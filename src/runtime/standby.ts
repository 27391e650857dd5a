import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';

/**
 * A standby monitor: bin/wharf.cjs starts the monitor with `--standby` as its very first act for `run` and `start`
 * (the native build/Release/wharf-monitor when it is there, else `node monitor-main.cjs`), so that the monitor's
 * start-up overlaps the CLI's own instead of following it on the critical path of every container start. The
 * standby waits for one line on stdin, the path of its monitor.json; when its stdin closes without one (the CLI
 * failed or had nothing to start) it exits. The native monitor hands a config it cannot serve (a terminal, the OOM
 * watch) to the Node monitor named by the config's `fallback`.
 * The launcher leaves `{ child, command }` under this global key; startMonitor takes it at most once.
 */
export const STANDBY_FLAG = '--standby';
export const STANDBY_KEY = Symbol.for('wharf.standbyMonitor');

export interface StandbyMonitor {
  child: ChildProcess;
  /** The standby's command line without the flag: [node, monitor-main.cjs] or [wharf-monitor]. */
  command: string[];
}

const sameCommand = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => path.resolve(x) === path.resolve(b[i]!));

/**
 * The launcher's standby, if it runs one of the accepted monitor commands and is still waiting; it is never handed
 * out twice, and one that is not taken is told to exit.
 */
export function takeStandbyMonitor(accepted: ReadonlyArray<readonly string[]>): ChildProcess | undefined {
  const g = globalThis as Record<symbol, unknown>;
  const s = g[STANDBY_KEY] as StandbyMonitor | undefined;
  if (!s) return undefined;
  delete g[STANDBY_KEY];
  const known = Array.isArray(s.command) && accepted.some((c) => sameCommand(c, s.command));
  const waiting = s.child.exitCode === null && s.child.signalCode === null && s.child.stdin?.writable === true;
  if (known && waiting) return s.child;
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
