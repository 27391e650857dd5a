import { parsePruneFilter, prunable } from '../util/index.js';
import { filtersParam, sendJson, type ApiRequest } from './context.js';

/** The `filters` of a prune as `key=value` specs, without the keys a handler takes itself. */
function pruneSpecs(filters: Map<string, string[]>, own: readonly string[]): string[] {
  const specs: string[] = [];
  for (const [k, vals] of filters) if (!own.includes(k)) for (const v of vals) specs.push(`${k}=${v}`);
  return specs;
}

/** POST /containers/prune (`until`, `label`, `label!`): the stopped containers. */
export async function pruneContainersHandler(r: ApiRequest): Promise<void> {
  const f = parsePruneFilter(pruneSpecs(filtersParam(r.query), []));
  const { deleted, reclaimed } = await r.wharf.containers.prune((c) => prunable(f, c.created, c.config.Labels ?? {}));
  sendJson(r.res, 200, { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed });
}

/** POST /images/prune (`dangling=false` for every unused image, `until`, `label`, `label!`). */
export async function pruneImagesHandler(r: ApiRequest): Promise<void> {
  const filters = filtersParam(r.query);
  const all = (filters.get('dangling') ?? []).some((v) => v === 'false' || v === '0');
  const f = parsePruneFilter(pruneSpecs(filters, ['dangling']));
  const { events, reclaimed } = await r.wharf.images.prune({
    all,
    filter: (img) => prunable(f, img.created ?? img.addedAt, img.labels),
  });
  sendJson(r.res, 200, { ImagesDeleted: events.length ? events : null, SpaceReclaimed: reclaimed });
}
