import { Writable } from 'node:stream';
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
import { looksLikeImageId } from '../reference/index.js';
import type { StageMeta } from './metadata.js';
import type { StageIO, StageState } from './scope.js';
import type { BuildOptions } from './types.js';

/**
 * FROM: the images the stages start from, whose Env and ONBUILD triggers the stages' resolution needs, and the state
 * each stage starts in. An image missing from the store (every one with `--pull`) is pulled through the caller's
 * `pullBase`; as Docker's classic builder pulls at the FROM step, the pull's progress (or its error) is kept and shown
 * under the first `Step N/M : FROM` that uses the image.
 */

export type BaseImage =
  | { id: Digest; config: ImageConfig; pullOutput?: string }
  | { error: unknown; pullOutput: string };
export type BaseImages = Map<string, BaseImage>;

export interface StageArgs {
  buildArgs: Record<string, string>;
  target?: string;
  platformArgs: Record<string, string>;
}

/** How FROM images that are not in the store are found: BuildOptions' pullBase and pull. */
export type BasePulling = Pick<BuildOptions, 'pullBase' | 'pull'>;

/** The stages resolved against their base images: a first pass finds which images they start from, a second one reads their Env and ONBUILD. */
export async function resolveWithBaseImages(
  images: ImageService,
  parsed: InstructionsResult,
  args: StageArgs,
  pulling: BasePulling = {},
): Promise<{ resolved: ResolvedBuild; baseImages: BaseImages }> {
  const first = resolveStages(parsed, args);
  const baseImages: BaseImages = new Map();
  for (const ref of imageRefs(first)) baseImages.set(ref, await baseImage(images, ref, pulling));
  // A FROM's failed pull is reported at its step; an image only COPY --from reads fails the build now.
  const fromRefs = new Set(first.stages.flatMap((s) => (s.base.kind === 'image' ? [s.base.ref] : [])));
  for (const [ref, b] of baseImages) if ('error' in b && !fromRefs.has(ref)) throw b.error;
  const configOf = (ref: string) => {
    const b = baseImages.get(ref);
    return b && 'config' in b ? b.config.config : undefined;
  };
  const resolved = resolveStages(parsed, {
    ...args,
    baseImageEnv: (ref) => withDefaultPath(configOf(ref)?.Env ?? []),
    baseImageOnBuild: (ref) => configOf(ref)?.OnBuild ?? [],
  });
  return { resolved, baseImages };
}

/** One base image: from the store, or pulled when it is missing (always with `pull`; never an image ID). */
async function baseImage(images: ImageService, ref: string, pulling: BasePulling): Promise<BaseImage> {
  const local = images.tryResolve(ref);
  const mustPull = pulling.pull === true && !looksLikeImageId(ref);
  if (local && !mustPull) return { id: local.id, config: (await images.config(local.id)).config };
  if (!pulling.pullBase)
    throw new WharfError(
      'NOT_FOUND',
      `pull access denied for ${ref}: the image is not in the local store (Wharf builds from local images)`,
    );
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  try {
    await pulling.pullBase(ref, out);
  } catch (error) {
    return { error, pullOutput: Buffer.concat(chunks).toString('utf8') };
  }
  const pulled = images.resolve(ref);
  return {
    id: pulled.id,
    config: (await images.config(pulled.id)).config,
    pullOutput: Buffer.concat(chunks).toString('utf8'),
  };
}

/** Prints an image's pull progress under the first step that reads the image (FROM, COPY --from), as Docker pulls there. */
export function showPull(baseImages: BaseImages, ref: string, io: StageIO): void {
  const b = baseImages.get(ref);
  if (b?.pullOutput === undefined) return;
  io.out.write(b.pullOutput);
  delete b.pullOutput;
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
  showPull(baseImages, stage.base.ref, io);
  if ('error' in base) throw base.error;
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
