import {
  encodeEvent,
  eventMatches,
  followEvents,
  parseEventFilters,
  readEvents,
  type WharfEvent,
} from '../events/index.js';
import { WharfError } from '../errors/index.js';
import { parseDockerTime } from '../util/index.js';
import { filtersParam, type ApiRequest } from './context.js';

/**
 * GET /events: the root's event log as JSON lines, filtered as `wharf events` filters. Without `since`/`until`
 * only new events until the client goes; with `since` the past ones first; with a past `until` the stream ends.
 */
export async function eventsHandler(r: ApiRequest): Promise<void> {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const sinceText = r.query.get('since');
  const untilText = r.query.get('until');
  const since = sinceText ? parseDockerTime(sinceText, nowNs) : undefined;
  const until = untilText ? parseDockerTime(untilText, nowNs) : undefined;
  if (since !== undefined && until !== undefined && until < since)
    throw new WharfError('INVALID_ARGUMENT', '`since` time cannot be after `until` time');
  const specs: string[] = [];
  for (const [k, vals] of filtersParam(r.query)) for (const v of vals) specs.push(`${k}=${v}`);
  const filters = parseEventFilters(specs);
  const wanted = (e: WharfEvent): boolean =>
    (since === undefined || e.timeNano >= since) &&
    (until === undefined || e.timeNano <= until) &&
    eventMatches(filters, e);
  r.res.writeHead(200, { 'Content-Type': 'application/json' });
  r.res.flushHeaders();
  if (until !== undefined && until <= nowNs) {
    for (const e of await readEvents(r.wharf.root)) if (wanted(e)) r.res.write(encodeEvent(e));
    r.res.end();
    return;
  }
  const ac = new AbortController();
  r.res.on('close', () => ac.abort());
  const timer =
    until !== undefined ? setTimeout(() => ac.abort(), Number((until - nowNs) / 1_000_000n) + 1) : undefined;
  r.state.eventListeners++;
  try {
    const fromStart = since !== undefined || until !== undefined;
    for await (const e of followEvents(r.wharf.root, { signal: ac.signal, fromStart })) {
      if (until !== undefined && e.timeNano > until) break;
      if (wanted(e) && !r.res.write(encodeEvent(e))) await new Promise((resolve) => r.res.once('drain', resolve));
    }
  } finally {
    r.state.eventListeners--;
    clearTimeout(timer);
    r.res.end();
  }
}
