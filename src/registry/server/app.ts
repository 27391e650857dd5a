import type { IncomingMessage, ServerResponse } from 'node:http';
import { isValidRepositoryPath } from '../../reference/index.js';
import type { Action } from '../config.js';
import type { Principal } from './access.js';
import { apiError, toApiError } from './errors.js';
import { RateLimiter } from './ratelimit.js';
import { requestUrl } from '../../util/index.js';
import { sendError, sendJson, type Handler, type RequestContext, type ServerDeps } from './context.js';
import { matchRoute, METHODS, type Route, type RouteName } from './routes.js';
import { deleteBlob, getBlob } from './handlers/blobs.js';
import { cancelUpload, patchUpload, putUpload, startUpload, uploadStatus } from './handlers/uploads.js';
import { deleteManifest, getManifest, listReferrers, listTags, putManifest } from './handlers/manifests.js';
import { adminGc, adminRepository, base, catalog, token, v1ping, v1search } from './handlers/misc.js';
import { health, metrics } from './handlers/ops.js';
import { RETRY_AFTER_SECONDS } from './health.js';

const HANDLERS: Record<RouteName, Partial<Record<string, Handler>>> = {
  base: { GET: base, HEAD: base },
  catalog: { GET: catalog },
  tags: { GET: listTags },
  manifest: { GET: getManifest, HEAD: getManifest, PUT: putManifest, DELETE: deleteManifest },
  blob: { GET: getBlob, HEAD: getBlob, DELETE: deleteBlob },
  uploadStart: { POST: startUpload },
  upload: { GET: uploadStatus, PATCH: patchUpload, PUT: putUpload, DELETE: cancelUpload },
  referrers: { GET: listReferrers },
  v1ping: { GET: v1ping, HEAD: v1ping },
  v1search: { GET: v1search },
  token: { GET: token, POST: token },
  adminGc: { POST: adminGc },
  adminRepo: { GET: adminRepository, DELETE: adminRepository },
  health: { GET: health, HEAD: health },
  metrics: { GET: metrics },
};

type Need = { kind: 'none' } | { kind: 'login' } | { kind: 'catalog' } | { kind: 'repo'; repo: string; action: Action };

function needOf(route: Route, method: string): Need {
  switch (route.name) {
    case 'token':
    case 'v1ping':
    case 'health': // for load balancers and Prometheus, as distribution's debug server (which has no auth)
    case 'metrics':
      return { kind: 'none' };
    case 'base':
    case 'adminGc':
    case 'adminRepo':
      return { kind: 'login' };
    case 'catalog':
    case 'v1search':
      return { kind: 'catalog' };
    default: {
      const repo = route.repo ?? '';
      const action: Action =
        method === 'DELETE' && (route.name === 'manifest' || route.name === 'blob')
          ? 'delete'
          : method === 'GET' || method === 'HEAD'
            ? route.name === 'upload'
              ? 'push'
              : 'pull'
            : 'push';
      return { kind: 'repo', repo, action };
    }
  }
}

export interface AccessLogEntry {
  remote: string;
  user?: string;
  method: string;
  url: string;
  status: number;
  bytesOut: number;
  durationMs: number;
  userAgent?: string;
  /** Set when the connection closed before the response was complete: what was cut short. */
  aborted?: string;
}

/** What a request whose connection closed early gets as its status: nginx's "client closed request". */
export const CLIENT_CLOSED_REQUEST = 499;

export function formatAccessLog(e: AccessLogEntry, at = new Date()): string {
  const line = `${e.remote} - ${e.user ?? '-'} [${at.toISOString()}] "${e.method} ${e.url}" ${e.status} ${e.bytesOut} ${e.durationMs}ms "${(e.userAgent ?? '-').replace(/"/g, "'")}"`;
  return e.aborted !== undefined ? `${line} aborted: ${e.aborted}` : line;
}

/**
 * How a request ended, for the access log. A response that was not completely handed to the socket when the
 * connection closed did not happen as its status says: before any header went out the client saw nothing (499, and
 * whether its body was cut short); after, it saw a truncated response (the status sent, marked aborted).
 */
export function outcomeOf(req: IncomingMessage, res: ServerResponse): { status: number; aborted?: string } {
  if (res.writableFinished) return { status: res.statusCode };
  const body = req.complete ? '' : '; request body incomplete';
  if (!res.headersSent)
    return { status: CLIENT_CLOSED_REQUEST, aborted: `connection closed before the response${body}` };
  return { status: res.statusCode, aborted: `connection closed during the response${body}` };
}

/** The request dispatcher: route → authentication → authorization → handler, with errors mapped in one place. */
export function createRequestHandler(
  deps: ServerDeps,
  log: (line: string) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  const limiter = deps.config.rateLimit
    ? new RateLimiter(deps.config.rateLimit.rate, deps.config.rateLimit.burst)
    : undefined;
  const tokenPath = deps.config.token
    ? deps.config.token.realm
      ? safePath(deps.config.token.realm)
      : '/token'
    : undefined;
  const tlsScheme = deps.config.tls ? 'https' : 'http';

  const challenge = (req: IncomingMessage, need: Need, insufficient: boolean): string => {
    if (deps.auth.mode === 'bearer') {
      const t = deps.config.token!;
      const realm =
        t.realm ?? `${tlsScheme}://${req.headers.host ?? `${deps.config.host}:${deps.config.port}`}${tokenPath}`;
      const scope =
        need.kind === 'repo'
          ? `,scope="repository:${need.repo}:${need.action === 'push' ? 'pull,push' : need.action}"`
          : need.kind === 'catalog'
            ? ',scope="registry:catalog:*"'
            : '';
      return `Bearer realm="${realm}",service="${t.service}"${scope}${insufficient ? ',error="insufficient_scope"' : ''}`;
    }
    return `Basic realm="${deps.config.htpasswd!.realm}"`;
  };

  const authorize = async (c: RequestContext, need: Need): Promise<void> => {
    const { policy, auth } = deps;
    if (auth.mode === 'none' || need.kind === 'none') return;
    const p = await auth.principalOf(c.req);
    const unauthorized = (insufficient: boolean, msg: string) => {
      c.res.setHeader('WWW-Authenticate', challenge(c.req, need, insufficient));
      return apiError('UNAUTHORIZED', msg);
    };
    if (p === 'bad') throw unauthorized(false, 'authentication required: invalid credentials or token');
    c.principal = p;
    const anonymous = p.user === undefined && p.granted === undefined;
    switch (need.kind) {
      case 'login':
        // Always a challenge, even when anonymous pulls are allowed: `docker login` learns from it how to authenticate.
        if (anonymous) throw unauthorized(false, 'authentication required');
        return;
      case 'catalog':
        if (p.granted) {
          if (!p.granted.some((g) => g.type === 'registry' && g.name === 'catalog' && g.actions.length > 0))
            throw unauthorized(true, 'the token does not grant catalog access');
          return;
        }
        if (anonymous && !policy.anonymousAllowed) throw unauthorized(false, 'authentication required');
        return;
      case 'repo':
        if (policy.allowed(p, need.repo, need.action)) return;
        if (anonymous || p.granted)
          throw unauthorized(p.granted !== undefined, `authentication required: ${need.action} access to ${need.repo}`);
        throw apiError('DENIED', `${p.user} has no ${need.action} access to ${need.repo}`);
    }
  };

  return (req, res) => {
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    const url = requestUrl(req.url, 'http://registry.invalid');
    if (!url) {
      req.resume();
      sendJson(res, 400, { errors: [{ code: 'UNSUPPORTED', message: 'the request target is not a valid path' }] });
      return;
    }
    const c: RequestContext = {
      req,
      res,
      url,
      route: { name: 'base' },
      principal: {},
      deps,
      subject: 'other',
      bytesSentDirect: 0,
    };
    const socket = req.socket;
    const outBefore = socket.bytesWritten;
    const inBefore = socket.bytesRead;
    let uploading = false;
    let matched = false;
    res.on('close', () => {
      const outcome = outcomeOf(req, res);
      const sent = Math.max(0, socket.bytesWritten - outBefore) + c.bytesSentDirect;
      // The body may have come in the same read as the headers (before inBefore): a complete body's length counts.
      const declared = req.complete ? Number(req.headers['content-length'] ?? 0) || 0 : 0;
      const received = Math.max(declared, socket.bytesRead - inBefore);
      // Labels from a closed set: a path no route matches and a method no route has do not make new series.
      const routeLabel = matched ? c.route.name : 'unmatched';
      const methodLabel = KNOWN_METHODS.has(method) ? method : 'other';
      const digestParam = url.searchParams.has('digest');
      observe(deps, routeLabel, methodLabel, outcome.status, sent, received, started, digestParam);
      if (uploading) deps.metrics.uploadsInFlight.dec();
      if (!deps.config.accessLog) return;
      log(
        formatAccessLog({
          remote: socket.remoteAddress ?? '-',
          ...(c.principal.user !== undefined ? { user: c.principal.user } : {}),
          method,
          url: req.url ?? '/',
          ...outcome,
          bytesOut: sent,
          durationMs: Number((process.hrtime.bigint() - started) / 1_000_000n),
          ...(req.headers['user-agent'] !== undefined ? { userAgent: req.headers['user-agent'] } : {}),
        }),
      );
    });

    // The raw path, not url.pathname: URL parsing would quietly resolve `..` segments of a hostile name.
    const rawPath = (req.url ?? '/').split('?')[0]!;
    const route = matchRoute(rawPath, tokenPath);
    if (!route) {
      req.resume();
      sendJson(res, 404, {
        errors: [{ code: 'NAME_UNKNOWN', message: `no such endpoint ${url.pathname.slice(0, 200)}` }],
      });
      return;
    }
    c.route = route;
    matched = true;
    if ((route.name === 'upload' || route.name === 'uploadStart') && method !== 'GET' && method !== 'DELETE') {
      uploading = true;
      deps.metrics.uploadsInFlight.inc();
    }
    const handler = HANDLERS[route.name][method];
    if (!handler) {
      req.resume();
      sendJson(
        res,
        405,
        { errors: [{ code: 'UNSUPPORTED', message: `${method} is not allowed on ${url.pathname.slice(0, 200)}` }] },
        { Allow: METHODS[route.name].join(', ') },
      );
      return;
    }
    (async () => {
      const wait = limiter?.take(socket.remoteAddress ?? '-') ?? 0;
      if (wait > 0) {
        res.setHeader('Retry-After', String(wait));
        throw apiError(
          'TOOMANYREQUESTS',
          `too many requests from ${socket.remoteAddress ?? 'this client'}; retry in ${wait}s`,
        );
      }
      if (route.repo !== undefined && !isValidRepositoryPath(route.repo)) {
        throw apiError('NAME_INVALID', `invalid repository name ${JSON.stringify(route.repo.slice(0, 300))}`);
      }
      await authorize(c, needOf(route, method));
      await handler(c);
    })().catch((err: unknown) => {
      if (!req.complete) req.resume();
      // Unavailable (the database or the blob store is down): the client may retry, and is told when.
      const retry =
        toApiError(err, c.subject).status === 503 ? { 'Retry-After': String(RETRY_AFTER_SECONDS) } : undefined;
      const status = sendError(c, err, c.subject, retry);
      // An outage answers every request with 503: one line each, not a stack trace each.
      if (status === 503) log(`unavailable: ${method} ${req.url}: ${err instanceof Error ? err.message : String(err)}`);
      else if (status >= 500)
        log(`error: ${method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    });
  };
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS']);

/** Counts a finished request into the metrics; upload sessions by what their requests answered. */
function observe(
  deps: ServerDeps,
  route: RouteName | 'unmatched',
  method: string,
  status: number,
  sent: number,
  received: number,
  started: bigint,
  /** POST with ?digest=: a whole blob in one request (201), not a mount. */
  monolithic: boolean,
): void {
  const m = deps.metrics;
  m.requests.inc({ route, method, status: String(status) });
  m.duration.observe({ route, method }, Number(process.hrtime.bigint() - started) / 1e9);
  m.bytesSent.inc({ route }, sent);
  if (received > 0) m.bytesReceived.inc({ route }, received);
  const oneShot = route === 'uploadStart' && status === 201 && monolithic;
  if ((route === 'uploadStart' && method === 'POST' && status === 202) || oneShot) m.uploads.inc({ event: 'started' });
  if ((route === 'upload' && method === 'PUT' && status === 201) || oneShot) m.uploads.inc({ event: 'completed' });
  if (route === 'upload' && method === 'DELETE' && status === 204) m.uploads.inc({ event: 'cancelled' });
}

function safePath(realm: string): string {
  try {
    return new URL(realm).pathname;
  } catch {
    return realm.startsWith('/') ? realm : '/token';
  }
}

export type { Principal };
