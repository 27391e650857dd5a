import { WharfError } from '../errors/index.js';
import { followEvents, type WharfEvent } from '../events/index.js';
import type { ContainerService } from './service.js';

/** Docker's `wait?condition=`: the container is not running now, exits next, or is removed. */
export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export function parseWaitCondition(s: string | null | undefined): WaitCondition {
  const c = s === null || s === undefined || s === '' ? 'not-running' : s;
  if (c !== 'not-running' && c !== 'next-exit' && c !== 'removed')
    throw new WharfError('INVALID_ARGUMENT', `invalid condition: "${c}"`);
  return c;
}

/** How often the state is re-read besides the event log (a missed event, a monitor that died without one). */
const POLL_MS = 500;

/**
 * Waits for `condition` and returns the exit code, as dockerd's wait does: `next-exit` waits for an exit even of a
 * container not started yet (the docker CLI calls wait before start), `removed` for the removal after the exit (with
 * that exit's code: `run --rm`). Follows the root's event log (`die` carries the exit code, `destroy` the removal),
 * which every process appends to, and re-reads the state now and then. Throws NOT_FOUND for a missing container.
 */
export async function waitForCondition(
  containers: ContainerService,
  root: string,
  idOrName: string,
  condition: WaitCondition,
  signal?: AbortSignal,
): Promise<number> {
  const first = await containers.get(idOrName);
  if (condition === 'not-running' && !first.running) return first.state.exitCode;
  const id = first.id;
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  signal?.addEventListener('abort', onAbort);
  const events = followEvents(root, { signal: ac.signal });
  let pending = events.next(); // starts following now, before the container can exit
  let code: number | undefined = first.running ? undefined : first.state.exitCode;
  const finishedBefore = first.state.finishedAt;
  try {
    for (;;) {
      if (signal?.aborted) throw new WharfError('CANCELLED', 'wait cancelled');
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<'tick'>((resolve) => {
        timer = setTimeout(() => resolve('tick'), POLL_MS);
      });
      const r = await Promise.race([pending, tick]);
      clearTimeout(timer);
      if (r !== 'tick') {
        if (r.done) throw new WharfError('CANCELLED', 'wait cancelled');
        pending = events.next();
        const e: WharfEvent = r.value;
        if (e.Type !== 'container' || e.Actor.ID !== id) continue;
        if (e.Action === 'die') {
          code = Number(e.Actor.Attributes.exitCode ?? 0);
          if (condition !== 'removed') return code;
        } else if (e.Action === 'destroy' && condition === 'removed') return code ?? 0;
        continue;
      }
      if (!containers.tryResolve(id)) return code ?? 0;
      const v = await containers.get(id);
      if (!v.running && v.state.finishedAt && v.state.finishedAt !== finishedBefore) {
        code = v.state.exitCode;
        if (condition !== 'removed') return code;
      }
      if (condition === 'not-running' && !v.running) return v.state.exitCode;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    ac.abort();
    void pending.catch(() => {});
  }
}
