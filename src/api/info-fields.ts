import { readdirSync } from 'node:fs';

/**
 * The facts of GET /info that belong to the serving process, not to the library's engine facts (engine/info.ts):
 * dockerd's SystemTime, NFd, NGoroutines and NEventsListener, and the fields clients read with a zero value when the
 * engine has nothing for them (docker-py and dockerode read them without checking that they are there).
 */
export interface ServiceFacts {
  now: Date;
  /** Open file descriptors of this process. */
  fds: number;
  /** Node has no goroutines: its active handles and requests stand for dockerd's count of concurrent work. */
  tasks: number;
  /** Open GET /events streams. */
  eventListeners: number;
  env: Record<string, string | undefined>;
}

/** SystemTime as Go's time.RFC3339Nano in local time: `2026-12-07T07:10:00.123456789+00:00` style (Z for UTC). */
export function rfc3339Nano(d: Date): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const offMin = -d.getTimezoneOffset();
  const zone =
    offMin === 0
      ? 'Z'
      : `${offMin > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(offMin) / 60))}:${pad(Math.abs(offMin) % 60)}`;
  // Go trims the fraction's trailing zeros (and the dot when nothing is left); a Date has milliseconds.
  const frac = pad(d.getMilliseconds(), 3).replace(/0+$/, '');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:` +
    `${pad(d.getSeconds())}${frac ? `.${frac}` : ''}${zone}`
  );
}

/** The fields this service adds to the engine's info, as dockerd names them. */
export function serviceInfoFields(f: ServiceFacts): Record<string, unknown> {
  return {
    SystemTime: rfc3339Nano(f.now),
    NFd: f.fds,
    NGoroutines: f.tasks,
    NEventsListener: f.eventListeners,
    // The proxies dockerd was started with (its environment), which `docker info` prints when set.
    HttpProxy: f.env.HTTP_PROXY ?? f.env.http_proxy ?? '',
    HttpsProxy: f.env.HTTPS_PROXY ?? f.env.https_proxy ?? '',
    NoProxy: f.env.NO_PROXY ?? f.env.no_proxy ?? '',
  };
}

/** This process's facts now (reads /proc/self/fd). */
export function currentServiceFacts(eventListeners: number): ServiceFacts {
  let fds = 0;
  try {
    fds = readdirSync('/proc/self/fd').length - 1; // less the directory handle of this read
  } catch {}
  const tasks = process.getActiveResourcesInfo().length;
  return { now: new Date(), fds, tasks, eventListeners, env: process.env };
}
