import type { Readable } from 'node:stream';
import { WharfError } from '../errors/index.js';
import { applyChanges, type ImageService } from '../image/index.js';
import type { CreateLayerOptions, ImageRecord } from '../image/index.js';
import { testPausePoint } from '../util/index.js';
import type { ContainerConfig, HistoryEntry, ImageConfig } from '../oci/index.js';
import { shortId, type Digest } from '../digest/index.js';
import { mergeHealthcheck } from './health.js';
import type { ContainerRecord } from './types.js';

export interface CommitOptions {
  /** REPO[:TAG] for the new image. */
  reference?: string;
  /** `-m`: the history entry's comment. */
  comment?: string;
  /** `-a`: the image's and the history entry's author. */
  author?: string;
  /** `-c`: Dockerfile instructions from Docker's --change set. */
  changes?: string[];
  /** Freeze a running container while its layer is read (default true, as Docker). */
  pause?: boolean;
}

/** sha256 of an empty tar (1024 zero bytes): a commit without changes adds no layer, as in Docker. */
export const EMPTY_TAR_DIFF_ID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

/**
 * The new image's config: the base image's config with the container's settings and the `--change`s, one more
 * diff ID, and one more history entry (created_by is the container's Cmd, as moby writes it).
 */
export function commitConfig(
  base: ImageConfig,
  rec: ContainerRecord,
  newDiffId: Digest | undefined,
  opts: CommitOptions,
  now = new Date(),
): ImageConfig {
  const containerConfig: ContainerConfig = structuredClone(rec.config);
  const config = applyChanges(structuredClone(rec.config), opts.changes ?? []);
  // The daemon merges the --change config with the container's: a HEALTHCHECK change keeps the numbers it leaves out.
  if (config.Healthcheck) config.Healthcheck = mergeHealthcheck(config.Healthcheck, rec.config.Healthcheck)!;
  const created = now.toISOString();
  const entry: HistoryEntry = {
    created,
    created_by: (rec.config.Cmd ?? []).join(' '),
    ...(opts.author ? { author: opts.author } : {}),
    ...(opts.comment ? { comment: opts.comment } : {}),
    ...(newDiffId ? {} : { empty_layer: true }),
  };
  const out: ImageConfig = {
    architecture: base.architecture,
    ...(opts.author ? { author: opts.author } : {}),
    // Docker keeps `-m` on the image too (moby's V1Image.Comment): `inspect -f '{{.Comment}}'` reads it there.
    ...(opts.comment ? { comment: opts.comment } : {}),
    config,
    container: rec.id,
    container_config: containerConfig,
    created,
    history: [...(base.history ?? []), entry],
    os: base.os,
    ...(base.variant ? { variant: base.variant } : {}),
    rootfs: { type: 'layers', diff_ids: [...base.rootfs.diff_ids, ...(newDiffId ? [newDiffId] : [])] },
  };
  return out;
}

/**
 * Where the new layer comes from: the container's overlay upper dir, copied in one pass (LayerStore.createFromUpper),
 * or a tar of its changes (`tar()`, also the fallback).
 */
export interface CommitLayerSource {
  upperDir?: string;
  tar: () => Promise<Readable>;
}

/** Make the layer from `source`, then the image on top of the container's image. */
export async function commitImage(
  images: ImageService,
  rec: ContainerRecord,
  source: CommitLayerSource,
  opts: CommitOptions,
  onStage?: CreateLayerOptions['onStage'],
): Promise<ImageRecord> {
  // Bad --change lines fail before any work is done.
  applyChanges(structuredClone(rec.config), opts.changes ?? []);
  const img = images.records.images.get(rec.imageId);
  if (!img) throw new WharfError('NOT_FOUND', `image ${rec.imageId} of container ${shortId(rec.id)} is gone`);
  const { config: base } = await images.config(img.id);
  const chain = images.records.images.chain(img.id);
  let halfway = false;
  const parent = img.topChain ?? null;
  const layer =
    source.upperDir === undefined
      ? await images.layers.create(parent, await source.tar(), onStage ? { onStage } : {})
      : await images.layers.createFromUpper(parent, source.upperDir, source.tar, {
          ...(onStage ? { onStage } : {}),
          // Crash tests stop a commit half-way through its layer (testPauseMidStream's point for the streamed path).
          onProgress: (bytes) => {
            if (bytes >= 1 << 19 && !halfway) {
              halfway = true;
              testPausePoint('commit:writing-layer');
            }
          },
        });
  testPausePoint('commit:after-layer');
  const empty = layer.diffId === EMPTY_TAR_DIFF_ID;
  const cfg = commitConfig(base, rec, empty ? undefined : layer.diffId, opts);
  try {
    return await images.create({
      configRaw: Buffer.from(JSON.stringify(cfg)),
      chain: empty ? chain : [...chain, layer.chainId],
      parent: img.id,
      tags: opts.reference ? [opts.reference] : [],
    });
  } finally {
    if (empty) await images.layers.release([layer.chainId]).catch(() => {});
  }
}
