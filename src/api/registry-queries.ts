import { WharfError } from '../errors/index.js';
import { inspectDistribution, searchImages } from '../remote/index.js';
import { filtersParam, sendJson, type ApiRequest } from './context.js';
import { registryAuth } from './images.js';

/**
 * GET /images/search?term=&limit=&filters=: the daemon searches (Docker Hub's index, or the registry `host/term`
 * names), filtered by `stars`, `is-official`, `is-automated` as dockerd filters.
 */
export async function searchHandler(r: ApiRequest): Promise<void> {
  const term = r.query.get('term');
  if (!term) throw new WharfError('INVALID_ARGUMENT', 'term is required');
  const limitText = r.query.get('limit');
  const limit = limitText ? Number(limitText) : 25;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw new WharfError('INVALID_ARGUMENT', `limit ${limitText} is outside the range of [1, 100]`);
  const f = filtersParam(r.query);
  const stars = Number(f.get('stars')?.[0] ?? 0);
  const official = f.get('is-official')?.[0];
  const automated = f.get('is-automated')?.[0];
  const auth = registryAuth(r.req.headers['x-registry-auth']).remote ?? {};
  const results = await searchImages(term, limit, { ...auth, insecureRegistries: r.server.insecureRegistries });
  sendJson(
    r.res,
    200,
    results
      .filter(
        (x) =>
          x.starCount >= stars &&
          (official === undefined || x.isOfficial === (official === 'true')) &&
          (automated === undefined || x.isAutomated === (automated === 'true')),
      )
      .map((x) => ({
        star_count: x.starCount,
        is_official: x.isOfficial,
        name: x.name,
        is_automated: x.isAutomated,
        description: x.description,
      })),
  );
}

/** GET /distribution/{name}/json: the manifest's descriptor in its registry and the platforms it serves. */
export async function distributionHandler(r: ApiRequest): Promise<void> {
  const auth = registryAuth(r.req.headers['x-registry-auth']).remote ?? {};
  const d = await inspectDistribution(r.params.name!, { ...auth, insecureRegistries: r.server.insecureRegistries });
  sendJson(r.res, 200, {
    Descriptor: { mediaType: d.descriptor.mediaType, digest: d.descriptor.digest, size: d.descriptor.size },
    Platforms: d.platforms,
  });
}
