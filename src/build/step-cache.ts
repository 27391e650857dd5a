import type { Digest } from '../digest/index.js';
import { WharfError } from '../errors/index.js';
import type { LayerRecord } from '../image/index.js';
import type { ContainerConfig } from '../oci/index.js';
import { cacheKey } from './cache.js';
import { childImageConfig } from './image-config.js';
import type { BuildScope, StageState } from './scope.js';
import type { BuildOptions } from './types.js';

/**
 * The two ends of a step: before running it, the cache lookup (the local cache, then `--cache-from`); after, the
 * commit of its image and the cache entry that lets the next build skip it.
 */

/** Docker's limit too: deeper images cannot be mounted, so the build refuses them early. */
const MAX_LAYERS = 127;

/** The cache key of a step: the stage's image, the step as recorded, what else it reads, the MAINTAINER. */
function stepKey(state: StageState, cmd: readonly string[], extra: Record<string, unknown>): string {
  return cacheKey({
    parent: state.imageId,
    createdBy: cmd.join(' '),
    extra: { ...extra, author: state.meta.maintainer ?? '' },
  });
}

/** The creation time of a new step: `--timestamp` or now, as Docker writes it. */
export function stepCreated(opts: BuildOptions): string {
  return (opts.timestamp ?? new Date()).toISOString().replace(/\.000Z$/, 'Z');
}

/** A cache hit moves the stage to the cached image and returns true. */
export async function probe(
  scope: BuildScope,
  state: StageState,
  cmd: readonly string[],
  extra: Record<string, unknown>,
  rc?: ContainerConfig,
): Promise<boolean> {
  const { opts, cache } = scope;
  const images = scope.deps.images;
  if (opts.noCache || state.busted) return false;
  const key = stepKey(state, cmd, extra);
  let hit = cache.lookup(key);
  // With --cache-from, Docker trusts a local hit only when it is an ancestor of one of those images.
  if (hit && opts.cacheFrom?.length && !isAncestorOfCacheFrom(scope, hit)) hit = undefined;
  if (!hit) {
    hit = await probeCacheFrom(scope, state, cmd, rc);
    if (hit) cache.record(key, hit, state.imageId, cmd.join(' '));
  }
  if (!hit) {
    state.busted = true;
    return false;
  }
  state.io.say(' ---> Using cache');
  scope.hits++;
  const { config } = await images.config(hit);
  state.imageId = hit;
  state.config = config;
  state.rc = structuredClone(config.config ?? {});
  state.chain = images.records.images.chain(hit);
  return true;
}

function isAncestorOfCacheFrom(scope: BuildScope, id: Digest): boolean {
  const images = scope.deps.images;
  for (const ref of scope.opts.cacheFrom ?? []) {
    const rec = images.tryResolve(ref);
    for (
      let cur: Digest | null = rec?.id ?? null, n = 0;
      cur && n < 10_000;
      cur = images.records.images.get(cur)?.parent ?? null, n++
    ) {
      if (cur === id) return true;
    }
  }
  return false;
}

/**
 * `--cache-from` (Docker's classic rule): a candidate image whose history and layers start with the current
 * image's and whose next history entry is this exact step lends that step: a new image is made from the current
 * one plus that entry and its layer (which the candidate's chain already holds locally).
 */
async function probeCacheFrom(
  scope: BuildScope,
  state: StageState,
  cmd: readonly string[],
  rc: ContainerConfig | undefined,
): Promise<Digest | undefined> {
  const { opts } = scope;
  const images = scope.deps.images;
  if (!opts.cacheFrom?.length || !rc) return undefined;
  const createdBy = cmd.join(' ');
  const parentHistory = state.config?.history ?? [];
  const parentDiffs = state.config?.rootfs.diff_ids ?? [];
  for (const ref of opts.cacheFrom) {
    const rec = images.tryResolve(ref);
    if (!rec) continue;
    const { config: cand } = await images.config(rec.id);
    const h = cand.history ?? [];
    if (h.length <= parentHistory.length) continue;
    const sameHistory = parentHistory.every(
      (p, i) => p.created_by === h[i]?.created_by && (p.empty_layer ?? false) === (h[i]?.empty_layer ?? false),
    );
    const sameLayers = parentDiffs.every((d, i) => cand.rootfs.diff_ids[i] === d);
    const next = h[parentHistory.length]!;
    if (!sameHistory || !sameLayers || next.created_by !== createdBy) continue;
    let layer: LayerRecord | undefined;
    if (!next.empty_layer) {
      const candChain = images.records.images.chain(rec.id);
      const chainId = candChain[parentDiffs.length];
      layer = chainId ? images.layers.get(chainId) : undefined;
      if (!layer) continue;
    }
    const { raw } = childImageConfig({
      parent: state.config,
      parentId: state.imageId,
      rc,
      cmd,
      ...(layer ? { diffId: layer.diffId } : {}),
      created: next.created ?? stepCreated(opts),
      ...(next.author ? { author: next.author } : {}),
      architecture: cand.architecture,
      os: cand.os,
    });
    const chain = layer ? [...state.chain, layer.chainId] : state.chain;
    return (await images.create({ configRaw: raw, chain, parent: state.imageId })).id;
  }
  return undefined;
}

/** The step's image (its layer, if it changed files, on the stage's chain), recorded in the cache; the stage moves to it. */
export async function commitStep(
  scope: BuildScope,
  state: StageState,
  rc: ContainerConfig,
  cmd: readonly string[],
  layer: LayerRecord | undefined,
  extra: Record<string, unknown>,
): Promise<void> {
  const { raw, config } = childImageConfig({
    parent: state.config,
    parentId: state.imageId,
    rc,
    cmd,
    ...(layer ? { diffId: layer.diffId } : {}),
    created: stepCreated(scope.opts),
    ...(state.meta.maintainer ? { author: state.meta.maintainer } : {}),
    architecture: state.config?.architecture ?? scope.platform.architecture,
    os: state.config?.os ?? scope.platform.os,
    ...(state.config?.variant ? { variant: state.config.variant } : {}),
  });
  const chain = layer ? [...state.chain, layer.chainId] : state.chain;
  if (chain.length > MAX_LAYERS) {
    throw new WharfError(
      'FAILED_PRECONDITION',
      `max depth exceeded: this step would make layer ${chain.length}, and overlay mounts at most ${MAX_LAYERS}; merge RUN steps or use --squash`,
    );
  }
  const key = stepKey(state, cmd, extra);
  const img = await scope.deps.images.create({ configRaw: raw, chain, parent: state.imageId });
  scope.cache.record(key, img.id, state.imageId, cmd.join(' '));
  state.imageId = img.id;
  state.config = config;
  state.rc = rc;
  state.chain = chain;
}
