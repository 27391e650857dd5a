import { send, sendJson, type RequestContext } from '../context.js';
import { RETRY_AFTER_SECONDS } from '../health.js';

/**
 * `GET /debug/health`: 200 `{}` while the index and the blob store answer, else 503 naming what failed (distribution's
 * format: check name → error), with Retry-After. Load balancers use it as the replica's readiness.
 */
export async function health(c: RequestContext): Promise<void> {
  c.req.resume();
  const r = await c.deps.health.check();
  if (r.ok) sendJson(c.res, 200, {});
  else sendJson(c.res, 503, r.failures, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
}

/** `GET /metrics`: the Prometheus text format. */
export async function metrics(c: RequestContext): Promise<void> {
  c.req.resume();
  const { registry } = c.deps.metrics;
  send(c.res, 200, { 'Content-Type': registry.contentType }, await registry.metrics());
}
