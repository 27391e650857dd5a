import { WharfError, invalidFilter } from '../errors/index.js';
import type { ImageService } from '../image/index.js';
import { HEALTH_FILTER_VALUES } from './health.js';
import type { ObservedContainer } from './types.js';

export type ContainerFilter = (c: ObservedContainer) => boolean;

/**
 * Docker's container filters (`ps --filter`, GET /containers/json?filters=): id, name, status, label, ancestor,
 * exited, before/since, volume, health, network. `specs` are `key=value`; `all` is the list `before`/`since` name from.
 */
export function containerFilters(
  images: ImageService,
  specs: readonly string[],
  all: readonly ObservedContainer[],
): ContainerFilter[] {
  const out: ContainerFilter[] = [];
  const byKey = new Map<string, string[]>();
  for (const s of specs) {
    const i = s.indexOf('=');
    if (i <= 0) throw new WharfError('INVALID_ARGUMENT', `bad format of filter (expected name=value): ${s}`);
    const k = s.slice(0, i).toLowerCase();
    (byKey.get(k) ?? byKey.set(k, []).get(k)!).push(s.slice(i + 1));
  }
  for (const [k, vals] of byKey) {
    const any =
      (f: (c: ObservedContainer, v: string) => boolean): ContainerFilter =>
      (c) =>
        vals.some((v) => f(c, v));
    switch (k) {
      case 'id':
        out.push(any((c, v) => c.id.startsWith(v)));
        break;
      case 'name':
        out.push(any((c, v) => new RegExp(v.replace(/^\//, '')).test(c.name)));
        break;
      case 'status':
        for (const v of vals) {
          if (!['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'].includes(v)) {
            throw invalidFilter(`'status=${v}'`);
          }
        }
        out.push(any((c, v) => c.status === v));
        break;
      case 'label':
        out.push((c) =>
          vals.every((v) => {
            const j = v.indexOf('=');
            const labels = c.config.Labels ?? {};
            return j < 0 ? v in labels : labels[v.slice(0, j)] === v.slice(j + 1);
          }),
        );
        break;
      case 'exited':
        out.push(any((c, v) => c.status === 'exited' && c.state.exitCode === Number(v)));
        break;
      case 'ancestor':
        out.push(
          any((c, v) => {
            const img = images.tryResolve(v);
            return (
              img !== undefined &&
              (c.imageId === img.id ||
                (images.records.images.chain(c.imageId).length > 0 && isDescendant(images, c.imageId, img.id)))
            );
          }),
        );
        break;
      case 'before':
      case 'since': {
        const ref = all.find((c) => c.id.startsWith(vals[0]!) || c.name === vals[0]);
        if (!ref) throw new WharfError('NOT_FOUND', `No such container: ${vals[0]}`);
        out.push((c) => (k === 'before' ? c.created < ref.created : c.created > ref.created));
        break;
      }
      case 'volume':
        out.push(any((c, v) => c.mounts.some((m) => m.Name === v || m.Destination === v || m.Source === v)));
        break;
      case 'health':
        for (const v of vals) {
          if (!(HEALTH_FILTER_VALUES as readonly string[]).includes(v)) {
            throw new WharfError('INVALID_ARGUMENT', `Unrecognised filter value for health: ${v}`);
          }
        }
        // Docker: a container with no health record (no check, not started, NONE) is "none".
        out.push(any((c, v) => (c.health?.Status ?? 'none') === v));
        break;
      case 'network':
        // By name or ID, of the network mode or of any user-defined network the container is on.
        out.push(
          any(
            (c, v) =>
              c.hostConfig.NetworkMode === v ||
              Object.entries(c.networks ?? {}).some(([name, cfg]) => name === v || cfg.NetworkID.startsWith(v)),
          ),
        );
        break;
      default:
        throw invalidFilter(`'${k}'`);
    }
  }
  return out;
}

function isDescendant(images: ImageService, imageId: string, ancestor: string): boolean {
  let cur: string | null | undefined = imageId;
  for (let i = 0; cur && i < 1000; i++) {
    if (cur === ancestor) return true;
    cur = images.records.images.get(cur)?.parent;
  }
  return false;
}
