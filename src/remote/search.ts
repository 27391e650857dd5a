import { WharfError } from '../errors/index.js';
import { CATALOG_SCOPE } from './challenge.js';
import type { RegistrySession } from './session.js';
import { discard, readBody, type HttpResponse } from './transport.js';

export interface SearchResult {
  name: string;
  description: string;
  starCount: number;
  isOfficial: boolean;
  isAutomated: boolean;
}

const MAX_JSON_BODY = 8 * 1024 * 1024;

/** `GET /v1/search?q=&n=` (Docker Hub's index and registries that offer the v1 search API). */
export async function search(s: RegistrySession, term: string, limit = 25): Promise<SearchResult[]> {
  const res = await s.request({
    method: 'GET',
    path: '/v1/search',
    query: { q: term, n: String(limit) },
    // Search is public on Docker Hub, and a token can narrow what a registry shows: ask anonymously first, and
    // with credentials (and the catalog scope that guarded registries want) only when refused.
    scopes: [CATALOG_SCOPE],
    anonymousFirst: true,
    ok: [200, 404, 405],
    what: `searching ${s.endpoint.domain}`,
  });
  if (res.status !== 200) {
    await discard(res);
    throw new WharfError(
      'UNSUPPORTED',
      `registry ${s.endpoint.domain} does not offer search (GET /v1/search answered ${res.status})`,
    );
  }
  return searchResults(s, res, limit);
}

async function searchResults(s: RegistrySession, res: HttpResponse, limit: number): Promise<SearchResult[]> {
  const body = await readBody(res, MAX_JSON_BODY, 'search results');
  let doc: { results?: unknown };
  try {
    doc = JSON.parse(body.toString('utf8')) as typeof doc;
  } catch {
    throw new WharfError('UNAVAILABLE', `searching ${s.endpoint.domain}: the registry answered with invalid JSON`);
  }
  const rows = Array.isArray(doc.results) ? (doc.results as Array<Record<string, unknown>>) : [];
  return rows
    .filter((r) => typeof r === 'object' && r !== null && typeof r.name === 'string')
    .slice(0, limit)
    .map((r) => ({
      name: r.name as string,
      description: typeof r.description === 'string' ? r.description : '',
      starCount: typeof r.star_count === 'number' ? r.star_count : 0,
      isOfficial: r.is_official === true,
      isAutomated: r.is_automated === true,
    }));
}
