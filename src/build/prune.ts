import type { Digest } from '../digest/index.js';
import type { ImageService } from '../image/index.js';
import type { MetaDb } from '../meta/index.js';
import { BuildCache, FileDigestMemo } from './cache.js';
import { cacheMountsUsage, removeCacheMounts } from './cache-mounts.js';

/**
 * The build cache as users see it in `builder du`, `builder prune` and `system df`: the intermediate images steps
 * left (untagged, reachable through the cache) and the RUN --mount=type=cache directories.
 */

export interface BuildCacheDeps {
  root: string;
  db: MetaDb;
  images: ImageService;
}

export interface BuildCacheUsage {
  /** Cache entries whose image still exists. */
  entries: number;
  /** Entries whose image is tagged or holds a tagged image above it (in use). */
  active: number;
  /** Bytes of layers only build-cache images hold, plus cache mounts. */
  size: number;
  reclaimable: number;
  cacheMounts: { count: number; size: number };
}

function cacheOf(d: BuildCacheDeps): BuildCache {
  return new BuildCache(d.db, (id) => d.images.records.images.get(id) !== undefined);
}

/** Layers used by some tagged image (or an image a container uses): not the build cache's to reclaim. */
function layersInUse(d: BuildCacheDeps): Set<string> {
  const used = new Set<string>();
  const rec = d.images.records;
  for (const img of rec.images.all()) {
    if (rec.tags.ofImage(img.id).length === 0 && d.images.users(img.id).length === 0) continue;
    for (const c of rec.images.chain(img.id)) used.add(c);
  }
  return used;
}

export async function buildCacheUsage(d: BuildCacheDeps): Promise<BuildCacheUsage> {
  const cache = cacheOf(d);
  const rec = d.images.records;
  const used = layersInUse(d);
  const counted = new Set<string>();
  let size = 0;
  let entries = 0;
  let active = 0;
  for (const e of cache.list()) {
    const img = rec.images.get(e.imageId);
    if (!img) continue;
    entries++;
    const top = img.topChain;
    if (top && used.has(top)) active++;
    for (const c of rec.images.chain(img.id)) {
      if (used.has(c) || counted.has(c)) continue;
      counted.add(c);
      size += rec.layers.get(c)?.size ?? 0;
    }
  }
  const mounts = await cacheMountsUsage(d.root);
  return { entries, active, size: size + mounts.size, reclaimable: size + mounts.size, cacheMounts: mounts };
}

/**
 * Remove what only the build cache holds: intermediate images that are untagged, have no children and no
 * containers (repeated, since removing a step can free its parent), their cache entries, and the cache mounts.
 */
export async function pruneBuildCache(d: BuildCacheDeps): Promise<{ deleted: Digest[]; reclaimed: number }> {
  const cache = cacheOf(d);
  const rec = d.images.records;
  const before = new Map(rec.layers.all().map((l) => [l.chainId, l.size]));
  const deleted: Digest[] = [];
  for (let round = 0; round < 10_000; round++) {
    const candidates = cache
      .list()
      .map((e) => rec.images.get(e.imageId))
      .filter((img): img is NonNullable<typeof img> => img !== undefined)
      .filter(
        (img) =>
          rec.tags.ofImage(img.id).length === 0 &&
          !rec.images.hasChildren(img.id) &&
          d.images.users(img.id).length === 0,
      );
    if (candidates.length === 0) break;
    for (const img of candidates) {
      await d.images.remove(img.id, { noPrune: true });
      deleted.push(img.id);
    }
  }
  cache.forgetMissing();
  new FileDigestMemo(d.db).clear();
  const after = new Set(rec.layers.all().map((l) => l.chainId));
  let reclaimed = 0;
  for (const [chainId, size] of before) if (!after.has(chainId)) reclaimed += size;
  const mounts = await cacheMountsUsage(d.root);
  await removeCacheMounts(d.root);
  return { deleted, reclaimed: reclaimed + mounts.size };
}
