import { unknownVolumeDriver, volumeFilters, volumeInspect } from '../container/index.js';
import { boolParam, filtersParam, readJson, sendEmpty, sendJson, type ApiRequest } from './context.js';

function specsOf(r: ApiRequest): string[] {
  const specs: string[] = [];
  for (const [k, vals] of filtersParam(r.query)) for (const v of vals) specs.push(`${k}=${v}`);
  return specs;
}

/** GET /volumes: `{"Volumes":[…],"Warnings":null}`. */
export function listVolumesHandler(r: ApiRequest): void {
  const keep = volumeFilters(r.wharf.volumes, specsOf(r));
  const vols = r.wharf.volumes.list().filter(keep);
  sendJson(r.res, 200, { Volumes: vols.map((v) => volumeInspect(r.wharf.volumes, v)), Warnings: null });
}

/** POST /volumes/create `{"Name","Driver","Labels","DriverOpts"}` → 201 with the volume. Only the `local` driver. */
export async function createVolumeHandler(r: ApiRequest): Promise<void> {
  const body = await readJson<{
    Name?: string;
    Driver?: string;
    Labels?: Record<string, string> | null;
    DriverOpts?: Record<string, string> | null;
  }>(r.req);
  if (body.Driver && body.Driver !== 'local') throw unknownVolumeDriver(body.Driver, body.Name);
  const v = await r.wharf.volumes.create({
    ...(body.Name ? { name: body.Name } : {}),
    ...(body.Labels ? { labels: body.Labels } : {}),
    ...(body.DriverOpts ? { options: body.DriverOpts } : {}),
  });
  sendJson(r.res, 201, volumeInspect(r.wharf.volumes, v));
}

export function inspectVolumeHandler(r: ApiRequest): void {
  sendJson(r.res, 200, volumeInspect(r.wharf.volumes, r.wharf.volumes.mustGet(r.params.name!)));
}

export async function removeVolumeHandler(r: ApiRequest): Promise<void> {
  await r.wharf.volumes.remove(r.params.name!, { force: boolParam(r.query, 'force') });
  sendEmpty(r.res, 204);
}

/** POST /volumes/prune: unused anonymous volumes, or every unused one with the filter `all=true` (API ≥ 1.42). */
export async function pruneVolumesHandler(r: ApiRequest): Promise<void> {
  const filters = filtersParam(r.query);
  const all = (filters.get('all') ?? []).some((v) => v === 'true' || v === '1');
  filters.delete('all');
  const specs: string[] = [];
  for (const [k, vals] of filters) for (const v of vals) specs.push(`${k}=${v}`);
  const { deleted, reclaimed } = await r.wharf.volumes.prune({
    all,
    filter: volumeFilters(r.wharf.volumes, specs),
  });
  // dockerd's volume service starts the list empty, not nil: [] even when nothing went (containers and images: null).
  sendJson(r.res, 200, { VolumesDeleted: deleted, SpaceReclaimed: reclaimed });
}
