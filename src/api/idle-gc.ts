import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** How long without a request before the service gives back the memory its last burst of requests used. */
export const IDLE_GC_MS = 3000;

let gcFn: (() => void) | undefined | null;

/** V8's full collection, made reachable once (as `--expose-gc` would) without a flag on the command line. */
function fullGc(): (() => void) | undefined {
  if (gcFn === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    } catch {
      gcFn = null;
    }
  }
  return gcFn ?? undefined;
}

/**
 * A service that idles between bursts (a `docker` command, a test suite's calls) keeps the heap those bursts grew
 * until V8 needs room again: its resident memory then stays at the burst's high mark. Once nothing has been in flight
 * for IDLE_GC_MS, one full collection gives the pages back. `busy()` when a request starts, `idle()` when the last
 * one ends.
 */
export function idleCollector(): { busy(): void; idle(): void; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let dirty = false;
  return {
    busy() {
      dirty = true;
      clearTimeout(timer);
    },
    idle() {
      clearTimeout(timer);
      if (!dirty) return;
      timer = setTimeout(() => {
        dirty = false;
        fullGc()?.();
      }, IDLE_GC_MS);
      timer.unref();
    },
    stop() {
      clearTimeout(timer);
    },
  };
}
