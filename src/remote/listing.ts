import { WharfError } from '../errors/index.js';
import { CATALOG_SCOPE } from './challenge.js';
import { nextLink } from './links.js';
import type { RegistrySession } from './session.js';
import { readBody } from './transport.js';

export interface Page {
  items: string[];
  /** The next page's URL (from `Link`), when there is one. */
  next?: string;
}

/** Which page: the first `n` (after `last`), or the `next` URL an earlier page gave. */
export interface PageOptions {
  n?: number;
  last?: string;
  url?: string;
}

export interface ListOptions {
  /** Items asked for per page (`n`); the registry's own default when absent. */
  pageSize?: number;
}

const MAX_JSON_BODY = 8 * 1024 * 1024;
const MAX_PAGES = 100_000;

/** `/v2/<repo>/tags/list`, page by page or whole. */
export class Tags {
  readonly #s: RegistrySession;

  constructor(session: RegistrySession) {
    this.#s = session;
  }

  /** One page of tags (`n`, `last`), with the next page's URL from `Link`. */
  page(repo: string, opts: PageOptions = {}): Promise<Page> {
    return fetchPage(
      this.#s,
      `/v2/${repo}/tags/list`,
      opts,
      this.#s.scopes(repo),
      `listing tags of ${this.#s.name(repo)}`,
      'tags',
    );
  }

  /** Every tag of a repository, following `Link` from page to page. */
  list(repo: string, opts: ListOptions = {}): Promise<string[]> {
    return allPages(this.#s, (url) => this.page(repo, firstOrNext(url, opts)));
  }
}

/** `/v2/_catalog`: the registry's repositories, page by page or whole. */
export class Catalog {
  readonly #s: RegistrySession;

  constructor(session: RegistrySession) {
    this.#s = session;
  }

  page(opts: PageOptions = {}): Promise<Page> {
    return fetchPage(
      this.#s,
      '/v2/_catalog',
      opts,
      [CATALOG_SCOPE],
      `listing the catalog of ${this.#s.endpoint.domain}`,
      'repositories',
    );
  }

  /** Every repository of the registry, following `Link` from page to page. */
  list(opts: ListOptions = {}): Promise<string[]> {
    return allPages(this.#s, (url) => this.page(firstOrNext(url, opts)));
  }
}

function firstOrNext(url: string | undefined, opts: ListOptions): PageOptions {
  if (url) return { url };
  return opts.pageSize ? { n: opts.pageSize } : {};
}

async function allPages(s: RegistrySession, page: (url?: string) => Promise<Page>): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  let url: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const p = await page(url);
    out.push(...p.items);
    if (!p.next || seen.has(p.next)) return out;
    seen.add(p.next);
    url = p.next;
  }
  throw new WharfError('UNAVAILABLE', `registry ${s.endpoint.domain} returned more than ${MAX_PAGES} pages`);
}

async function fetchPage(
  s: RegistrySession,
  path: string,
  opts: PageOptions,
  scopes: string[],
  what: string,
  key: 'tags' | 'repositories',
): Promise<Page> {
  const res = await s.request({
    method: 'GET',
    path: !opts.url ? path : opts.url.startsWith('http') ? new URL(opts.url) : opts.url,
    query: opts.url ? {} : { n: opts.n !== undefined ? String(opts.n) : undefined, last: opts.last },
    scopes,
    ok: [200],
    what,
  });
  const body = await readBody(res, MAX_JSON_BODY, what);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new WharfError('UNAVAILABLE', `${what}: the registry answered with invalid JSON`);
  }
  const raw = doc[key];
  const items = Array.isArray(raw) ? raw.filter((x): x is string => typeof x === 'string') : [];
  const link = nextLink(res.headers.link);
  const page: Page = { items };
  if (link) page.next = new URL(link, res.url).href;
  return page;
}
