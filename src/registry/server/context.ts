import type { IncomingMessage, ServerResponse } from 'node:http';
import { isValidRepositoryPath } from '../../reference/index.js';
import type { RegistryConfig } from '../config.js';
import type { RegistryIndex } from '../metadata/index.js';
import type { RegistryStore } from '../store.js';
import type { GcReport, GcRunOptions } from '../gc.js';
import type { AccessPolicy, Principal } from './access.js';
import type { Authenticator } from './auth.js';
import { apiError, toApiError, type Subject } from './errors.js';
import type { Route } from './routes.js';
import type { HealthChecker } from './health.js';
import type { RegistryMetrics } from './metrics.js';

/** What every handler can reach. */
export interface ServerDeps {
  config: RegistryConfig;
  store: RegistryStore;
  index: RegistryIndex;
  policy: AccessPolicy;
  auth: Authenticator;
  runGc(opts: GcRunOptions): Promise<GcReport>;
  metrics: RegistryMetrics;
  health: HealthChecker;
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  route: Route;
  principal: Principal;
  deps: ServerDeps;
  /** For error mapping: what this request is about. */
  subject: Subject;
  /** Body bytes that went to the socket around Node (sendfile), for the access log. */
  bytesSentDirect: number;
}

export type Handler = (c: RequestContext) => Promise<void>;

export const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' };

export function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number>,
  body?: Buffer | string,
): void {
  const b = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  res.writeHead(status, {
    ...API_VERSION_HEADER,
    ...headers,
    ...(headers['Content-Length'] === undefined ? { 'Content-Length': b?.length ?? 0 } : {}),
  });
  res.end(b);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number> = {},
): void {
  send(res, status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(body));
}

export function sendError(
  c: Pick<RequestContext, 'req' | 'res'>,
  err: unknown,
  subject: Subject,
  headers: Record<string, string | number> = {},
): number {
  const e = toApiError(err, subject);
  const body = {
    errors: [{ code: e.code, message: e.message, ...(e.detail !== undefined ? { detail: e.detail } : {}) }],
  };
  if (c.res.headersSent) {
    c.res.destroy();
    return e.status;
  }
  // A HEAD answer has no body, but keeps the status and headers.
  if (c.req.method === 'HEAD') send(c.res, e.status, headers);
  else sendJson(c.res, e.status, body, headers);
  return e.status;
}

/** The repository of the route, validated: a malformed name is NAME_INVALID (400), never a 500. */
export function repoOf(c: RequestContext): string {
  const repo = c.route.repo ?? '';
  if (!isValidRepositoryPath(repo))
    throw apiError('NAME_INVALID', `invalid repository name ${JSON.stringify(repo.slice(0, 300))}`);
  return repo;
}

export function requireWritable(c: RequestContext): void {
  if (c.deps.config.readOnly) throw apiError('UNSUPPORTED', 'the registry is in read-only mode');
}

export function requireDeleteEnabled(c: RequestContext): void {
  if (!c.deps.config.deleteEnabled)
    throw apiError('UNSUPPORTED', 'deletes are disabled on this registry (storage.delete.enabled)');
  requireWritable(c);
}

/** `n` and `last` of a listing; n above `max` is capped, a malformed n is a 400. */
export function pageOf(url: URL, max: number): { n: number; last?: string; explicitN: boolean } {
  const nRaw = url.searchParams.get('n');
  const last = url.searchParams.get('last') ?? undefined;
  if (nRaw === null || nRaw === '') return { n: max, explicitN: false, ...(last !== undefined ? { last } : {}) };
  if (!/^\d+$/.test(nRaw))
    throw apiError('PAGINATION_NUMBER_INVALID', `invalid page size n=${JSON.stringify(nRaw.slice(0, 50))}`);
  return { n: Math.min(Number(nRaw), max), explicitN: true, ...(last !== undefined ? { last } : {}) };
}
