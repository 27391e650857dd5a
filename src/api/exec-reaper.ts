import type { Server } from 'node:http';
import type { Wharf } from '../engine/index.js';
import type { ExecInstance } from './state.js';

/** How long an exec instance stays inspectable after it ended (or after its creation when it never started). */
export const EXEC_KEEP_MS = 5 * 60_000;
const SWEEP_MS = 60_000;

/**
 * Forgets exec instances as dockerd does: when their container no longer runs (its exec processes are gone with
 * it), and, so that a long-running container with many `docker exec` calls does not grow the service's memory, once
 * they have been over for `keepMs` (dockerd keeps those until the container stops). `seen` remembers when each
 * instance was first found over. Pure apart from the map it edits; returns the IDs removed.
 */
export function reapExecs(
  execs: Map<string, ExecInstance>,
  running: ReadonlySet<string>,
  seen: Map<string, number>,
  now: number,
  keepMs = EXEC_KEEP_MS,
): string[] {
  const removed: string[] = [];
  for (const [id, e] of execs) {
    if (e.running) continue;
    const since = seen.get(id) ?? now;
    seen.set(id, since);
    if (!running.has(e.containerId) || now - since >= keepMs) {
      execs.delete(id);
      seen.delete(id);
      removed.push(id);
    }
  }
  for (const id of seen.keys()) if (!execs.has(id)) seen.delete(id);
  return removed;
}

/** Sweeps a service's exec instances every minute while it has any; stops with the server. */
export function startExecReaper(server: Server, wharf: Wharf, execs: Map<string, ExecInstance>): void {
  const seen = new Map<string, number>();
  const timer = setInterval(() => {
    if (execs.size === 0) return;
    void wharf.containers.list().then(
      (list) => reapExecs(execs, new Set(list.filter((c) => c.running).map((c) => c.id)), seen, Date.now()),
      () => {},
    );
  }, SWEEP_MS);
  timer.unref();
  server.once('close', () => clearInterval(timer));
}
