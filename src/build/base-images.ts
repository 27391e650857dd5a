import type { Digest } from '../digest/index.js';
import {
  DEFAULT_PATH,
  resolveStages,
  type InstructionsResult,
  type ResolvedBuild,
  type ResolvedStage,
} from '../dockerfile/index.js';
import { WharfError } from '../errors/index.js';
import type { ImageService } from '../image/index.js';
import type { ContainerConfig, ImageConfig } from '../oci/index.js';
import type { StageMeta } from './metadata.js';
import type { StageIO, StageState } from './scope.js';

/**
 * FROM: the images the stages start from (local images only: Wharf builds offline), whose Env and ONBUILD
 * triggers the stages' resolution needs, and the state each stage starts in.
 */

export type BaseImages = Map<string, { id: Digest; config: ImageConfig }>;

export interface StageArgs {
  buildArgs: Record<string, string>;
  target?: string;
  platformArgs: Record<string, string>;
}

/** The stages resolved against their base images: a first pass finds which images they start from, a second one reads their Env and ONBUILD. */
export async function resolveWithBaseImages(
  images: ImageService,
  parsed: InstructionsResult,
  args: StageArgs,
): Promise<{ resolved: ResolvedBuild; baseImages: BaseImages }> {
  const first = resolveStages(parsed, args);
  const baseImages: BaseImages = new Map();
  for (const ref of imageRefs(first)) {
    const rec = images.tryResolve(ref);
    if (!rec)
      throw new WharfError(
        'NOT_FOUND',
        `pull access denied for ${ref}: the image is not in the local store (Wharf builds from local images)`,
      );
    baseImages.set(ref, { id: rec.id, config: (await images.config(rec.id)).config });
  }
  const resolved = resolveStages(parsed, {
    ...args,
    baseImageEnv: (ref) => withDefaultPath(baseImages.get(ref)?.config.config?.Env ?? []),
    baseImageOnBuild: (ref) => baseImages.get(ref)?.config.config?.OnBuild ?? [],
  });
  return { resolved, baseImages };
}

/** The state a stage starts in: a finished stage's, nothing (`scratch`), or a base image's. */
export function stageStart(
  images: ImageService,
  stage: ResolvedStage,
  baseImages: BaseImages,
  finished: ReadonlyMap<number, StageState>,
  io: StageIO,
): StageState {
  const meta: StageMeta = { cmdSet: false };
  if (stage.base.kind === 'stage') {
    const prev = finished.get(stage.base.index)!;
    return {
      io,
      imageId: prev.imageId,
      config: prev.config,
      rc: structuredClone(prev.rc),
      chain: [...prev.chain],
      meta,
      busted: false,
    };
  }
  if (stage.base.kind === 'scratch') {
    return {
      io,
      imageId: null,
      config: undefined,
      rc: { Env: [`PATH=${DEFAULT_PATH}`] },
      chain: [],
      meta,
      busted: false,
    };
  }
  const base = baseImages.get(stage.base.ref)!;
  const rc: ContainerConfig = structuredClone(base.config.config ?? {});
  rc.Env = withDefaultPath(rc.Env ?? []);
  return {
    io,
    imageId: base.id,
    config: base.config,
    rc,
    chain: images.records.images.chain(base.id),
    meta,
    busted: false,
  };
}

function withDefaultPath(env: readonly string[]): string[] {
  return env.some((e) => e.startsWith('PATH=')) ? [...env] : [...env, `PATH=${DEFAULT_PATH}`];
}

/** The images a build reads: the stages' bases and the COPY --from sources. */
function imageRefs(b: ResolvedBuild): Set<string> {
  const refs = new Set<string>();
  for (const s of b.stages) {
    if (s.base.kind === 'image') refs.add(s.base.ref);
    for (const st of s.steps) if (st.copyFrom?.kind === 'image') refs.add(st.copyFrom.ref);
  }
  return refs;
}
