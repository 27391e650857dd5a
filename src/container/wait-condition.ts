import { setTimeout as sleep } from 'node:timers/promises';
import { WharfError, is } from '../errors/index.js';
import { followEvents, readEvents, type WharfEvent } from '../events/index.js';
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
  const first = await containers.get(idOrName).catch(async (err: unknown) => {
    const gone = is(err, 'NOT_FOUND') && condition === 'removed' ? await removedExit(root, idOrName) : undefined;
    if (gone === undefined) throw err;
    return gone;
  });
  if (typeof first === 'number') return first;
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
          if (condition !== 'removed') {
            await settled(containers, id, signal);
            return code;
          }
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

/** How long a `die` may come before the state that says so (the monitor writes it after the event). */
const SETTLE_MS = 2000;

/**
 * Returns once the container's state shows the exit its `die` event announced (or it is gone, or restarts): the
 * monitor appends the event before it writes its final state, and a client that removes or inspects the container
 * right after its wait returned (docker-py's `wait(); remove()`) must not find it running. Bounded: a restart policy
 * may start it again at once.
 */
async function settled(containers: ContainerService, id: string, signal?: AbortSignal): Promise<void> {
  const until = Date.now() + SETTLE_MS;
  while (Date.now() < until && !signal?.aborted) {
    if (!containers.tryResolve(id)) return;
    const v = await containers.get(id).catch(() => undefined);
    if (!v?.running || v.status === 'restarting') return;
    await sleep(20);
  }
}

/**
 * The exit code of a container the log says was removed, for `wait?condition=removed` by its ID after the removal:
 * an AutoRemove container is gone by the time `stop` returns here (dockerd removes it a moment later), and
 * docker-py's `stop(); wait(condition='removed')` must still get its code. An ID (or ID prefix) only, not a name: a
 * name may be reused. Undefined when the log has no removal of it.
 */
async function removedExit(root: string, id: string): Promise<number | undefined> {
  if (!/^[0-9a-f]{12,64}$/.test(id)) return undefined;
  let code: number | undefined;
  let removed: number | undefined;
  for (const e of await readEvents(root)) {
    if (e.Type !== 'container' || !e.Actor.ID.startsWith(id)) continue;
    if (e.Action === 'die') code = Number(e.Actor.Attributes.exitCode ?? 0);
    else if (e.Action === 'destroy') removed = code ?? 0;
  }
  return removed;
}
