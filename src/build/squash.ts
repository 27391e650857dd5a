import { applyLayer } from '../archive/index.js';
import type { Digest } from '../digest/index.js';
import type { LayerRecord } from '../image/index.js';
import { canonicalJson } from '../oci/index.js';
import type { BuildScope, StageState } from './scope.js';
import { stepCreated } from './step-cache.js';
import { withStepSnapshot } from './step-roots.js';

/**
 * `--squash`: the target stage's new layers become one layer on its base, applied in order through an overlay
 * mount (so deletions become whiteouts only where a base file is hidden). History keeps every step, marked
 * empty, plus Docker's `merge <image> to <base>` entry.
 */
export async function squashStage(scope: BuildScope, final: StageState): Promise<Digest> {
  const images = scope.deps.images;
  const start = final.start!;
  const fresh = final.chain.slice(start.chain.length);
  const base: StageState = { ...final, imageId: start.imageId, chain: [...start.chain], config: start.config };
  if (fresh.length === 0) return squashedImage(scope, final, undefined);
  let id: Digest | undefined;
  await withStepSnapshot(
    scope,
    base,
    async (rootfs) => {
      for (const c of fresh) await applyLayer(await images.layers.tar(c), rootfs, { whiteouts: 'none' });
    },
    {
      record: async (layer) => {
        id = await squashedImage(scope, final, layer);
      },
    },
  );
  return id!;
}

/** The squashed image: the final stage's config on its base's layers plus `layer`. */
async function squashedImage(scope: BuildScope, final: StageState, layer: LayerRecord | undefined): Promise<Digest> {
  const images = scope.deps.images;
  const start = final.start!;
  const finalConfig = final.config!;
  const baseHistory = start.config?.history ?? [];
  const history = [
    ...baseHistory,
    ...(finalConfig.history ?? []).slice(baseHistory.length).map((h) => ({ ...h, empty_layer: true })),
    {
      created: stepCreated(scope.opts),
      comment: start.imageId ? `merge ${final.imageId} to ${start.imageId}` : `create new from ${final.imageId}`,
    },
  ];
  const cfg: Record<string, unknown> = { ...finalConfig };
  cfg.created = stepCreated(scope.opts);
  cfg.history = history;
  cfg.rootfs = {
    type: 'layers',
    diff_ids: [...(start.config?.rootfs.diff_ids ?? []), ...(layer ? [layer.diffId] : [])],
  };
  const ordered = Object.fromEntries(Object.entries(cfg).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const chain = layer ? [...start.chain, layer.chainId] : [...start.chain];
  const img = await images.create({ configRaw: canonicalJson(ordered), chain, parent: start.imageId });
  return img.id;
}
