import { isValidRepositoryPath } from '../../../reference/index.js';
import { readAllLimited } from '../../../util/index.js';
import { apiError } from '../errors.js';
import { pageOf, send, sendJson, requireDeleteEnabled, type RequestContext } from '../context.js';
import { parseScope, type Scope } from '../auth.js';

export async function base(c: RequestContext): Promise<void> {
  sendJson(c.res, 200, {});
}

const MAX_CATALOG_PAGE = 10_000;

export async function catalog(c: RequestContext): Promise<void> {
  c.subject = 'repo';
  const page = pageOf(c.url, MAX_CATALOG_PAGE);
  const { index, policy } = c.deps;
  const rows =
    page.n === 0
      ? []
      : await index.repositories.list({ n: page.n + 1, ...(page.last !== undefined ? { last: page.last } : {}) });
  const more = rows.length > page.n;
  const shown = rows.slice(0, page.n);
  // Pages are cut before filtering, so `last` stays a plain cursor; a page may hold fewer names than n.
  const visible = shown.filter((r) => policy.mayList(c.principal, r));
  const link: Record<string, string> = more
    ? { Link: `</v2/_catalog?n=${page.n}&last=${encodeURIComponent(shown[shown.length - 1]!)}>; rel="next"` }
    : {};
  sendJson(c.res, 200, { repositories: visible }, link);
}

/** Docker's classic ping, which `docker search` does before searching. */
export async function v1ping(c: RequestContext): Promise<void> {
  send(
    c.res,
    200,
    {
      'Content-Type': 'application/json',
      'X-Docker-Registry-Version': '0.6.0',
      'X-Docker-Registry-Standalone': 'true',
    },
    '{}',
  );
}

/** `GET /v1/search?q=&n=`, in the format `docker search HOST/term` reads. */
export async function v1search(c: RequestContext): Promise<void> {
  c.subject = 'repo';
  const q = (c.url.searchParams.get('q') ?? '').trim().toLowerCase();
  const nRaw = c.url.searchParams.get('n');
  const n = nRaw && /^\d+$/.test(nRaw) ? Math.min(Math.max(Number(nRaw), 1), 100) : 25;
  const { index, policy } = c.deps;
  const names = (await index.repositories.search(q, 1000)).filter((r) => policy.mayList(c.principal, r));
  const results = names.slice(0, n).map((name) => ({
    name,
    description: '',
    star_count: 0,
    is_official: false,
    is_automated: false,
    is_trusted: false,
  }));
  sendJson(c.res, 200, { num_pages: 1, num_results: results.length, page: 1, page_size: n, query: q, results });
}

/** The built-in token service (Docker's token protocol; POST is the OAuth2 password grant). */
export async function token(c: RequestContext): Promise<void> {
  const { auth } = c.deps;
  if (auth.mode !== 'bearer') throw apiError('UNSUPPORTED', 'the token service is not enabled');
  let user: string | undefined | 'bad';
  let scopes: string[];
  if (c.req.method === 'POST') {
    const form = new URLSearchParams((await readAllLimited(c.req, 64 * 1024, 'token request')).toString('utf8'));
    scopes = form.getAll('scope');
    const grant = form.get('grant_type');
    if (grant === 'password')
      user = (await auth.checkPassword(form.get('username') ?? '', form.get('password') ?? '')) ?? 'bad';
    else user = await auth.basic(c.req.headers.authorization);
  } else {
    c.req.resume();
    scopes = c.url.searchParams.getAll('scope');
    user = await auth.basic(c.req.headers.authorization);
  }
  if (user === 'bad') {
    throw apiError('UNAUTHORIZED', 'incorrect username or password');
  }
  const parsed = scopes
    .flatMap((s) => s.split(' '))
    .map(parseScope)
    .filter((s): s is Scope => s !== undefined && (s.type !== 'repository' || isValidRepositoryPath(s.name)));
  const t = await auth.issueToken(user, parsed);
  sendJson(c.res, 200, {
    token: t.token,
    access_token: t.token,
    expires_in: t.expiresIn,
    issued_at: t.issuedAt.toISOString(),
  });
}

function requireAdmin(c: RequestContext): void {
  if (!c.deps.policy.isAdmin(c.principal)) throw apiError('DENIED', 'this operation needs a registry administrator');
}

/** `POST /wharf/v1/gc?dry-run=1&delete-untagged=1`: garbage collection while serving. */
export async function adminGc(c: RequestContext): Promise<void> {
  c.req.resume();
  requireAdmin(c);
  const flag = (k: string) => ['1', 'true', 'yes'].includes((c.url.searchParams.get(k) ?? '').toLowerCase());
  const dryRun = flag('dry-run');
  if (!dryRun) requireDeleteEnabled(c);
  const report = await c.deps.runGc({
    dryRun,
    deleteUntagged: flag('delete-untagged'),
    uploadPurgeAgeMs: c.deps.config.uploadPurgeAgeMs,
  });
  sendJson(c.res, 200, report);
}

/** `DELETE /wharf/v1/repositories/<name>`: the whole repository; it leaves `_catalog` at once. */
export async function adminRepository(c: RequestContext): Promise<void> {
  c.subject = 'repo';
  c.req.resume();
  const repo = c.route.repo ?? '';
  if (!isValidRepositoryPath(repo))
    throw apiError('NAME_INVALID', `invalid repository name ${JSON.stringify(repo.slice(0, 300))}`);
  const { index, policy } = c.deps;
  if (c.req.method === 'GET') {
    if (!policy.allowed(c.principal, repo, 'pull')) throw apiError('DENIED', `no pull access to ${repo}`);
    if (!(await index.repositories.exists(repo))) throw apiError('NAME_UNKNOWN', `repository ${repo} is not known`);
    const tags = await index.tags.list(repo, {});
    sendJson(c.res, 200, { name: repo, tags: tags.length });
    return;
  }
  requireDeleteEnabled(c);
  if (!policy.allowed(c.principal, repo, 'delete')) throw apiError('DENIED', `no delete access to ${repo}`);
  const res = await index.repositories.delete(repo);
  if (!res) throw apiError('NAME_UNKNOWN', `repository ${repo} is not known`);
  sendJson(c.res, 202, { name: repo, manifestsDeleted: res.manifests, tagsDeleted: res.tags });
}
