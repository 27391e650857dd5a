/** The route table of the registry: every path the server answers, matched from the right because names have slashes. */
export type RouteName =
  | 'base'
  | 'catalog'
  | 'tags'
  | 'manifest'
  | 'blob'
  | 'uploadStart'
  | 'upload'
  | 'referrers'
  | 'v1ping'
  | 'v1search'
  | 'token'
  | 'adminGc'
  | 'adminRepo'
  | 'health'
  | 'metrics';

export interface Route {
  name: RouteName;
  repo?: string;
  /** Tag or digest (manifests), digest (blobs, referrers), session id (uploads). */
  ref?: string;
}

const TABLE: Array<[RegExp, RouteName]> = [
  [/^\/v2\/?$/, 'base'],
  [/^\/v2\/_catalog$/, 'catalog'],
  [/^\/v2\/(.+)\/tags\/list$/, 'tags'],
  [/^\/v2\/(.+)\/manifests\/([^/]+)$/, 'manifest'],
  [/^\/v2\/(.+)\/blobs\/uploads\/?$/, 'uploadStart'],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, 'upload'],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, 'blob'],
  [/^\/v2\/(.+)\/referrers\/([^/]+)$/, 'referrers'],
  [/^\/v1\/_ping$/, 'v1ping'],
  [/^\/v1\/search$/, 'v1search'],
  [/^\/wharf\/v1\/gc$/, 'adminGc'],
  [/^\/wharf\/v1\/repositories\/(.+)$/, 'adminRepo'],
  [/^\/debug\/health$/, 'health'],
  [/^\/metrics$/, 'metrics'],
];

/** Which route a path is, or undefined. `tokenPath` is where the built-in token service listens, if enabled. */
export function matchRoute(pathname: string, tokenPath?: string): Route | undefined {
  if (tokenPath !== undefined && pathname === tokenPath) return { name: 'token' };
  for (const [re, name] of TABLE) {
    const m = re.exec(pathname);
    if (!m) continue;
    if (name === 'adminRepo') return { name, repo: m[1]! };
    return { name, ...(m[1] !== undefined ? { repo: m[1] } : {}), ...(m[2] !== undefined ? { ref: m[2] } : {}) };
  }
  return undefined;
}

/** The methods each route allows (for 405 and for `Allow`). */
export const METHODS: Record<RouteName, string[]> = {
  base: ['GET', 'HEAD'],
  catalog: ['GET'],
  tags: ['GET'],
  manifest: ['GET', 'HEAD', 'PUT', 'DELETE'],
  blob: ['GET', 'HEAD', 'DELETE'],
  uploadStart: ['POST'],
  upload: ['GET', 'PATCH', 'PUT', 'DELETE'],
  referrers: ['GET'],
  v1ping: ['GET', 'HEAD'],
  v1search: ['GET'],
  token: ['GET', 'POST'],
  adminGc: ['POST'],
  adminRepo: ['DELETE', 'GET'],
  health: ['GET', 'HEAD'],
  metrics: ['GET'],
};
