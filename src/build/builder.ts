import * as path from 'node:path';
import type { Digest } from '../digest/index.js';
import { Intents } from '../meta/index.js';
import { BuildRun } from './build-run.js';
import { BuildCache, FileDigestMemo } from './cache.js';
import { buildCacheUsage, pruneBuildCache, type BuildCacheUsage } from './prune.js';
import { RuncStepRunner, type StepRunner } from './run-step.js';
import { sweepDeadBuilds } from './sweep.js';
import type { BuilderDeps, BuildOptions, BuildResult } from './types.js';

export { localPlatform } from './platform.js';
export {
  BuildStepFailed,
  type BuilderDeps,
  type BuildOptions,
  type BuildResult,
  type FailedStep,
} from './types.js';

/**
 * Docker's classic builder over Wharf's stores: every step makes an image whose parent is the previous step's
 * image (so `history` has IDs and a failed build leaves the last good step to debug), file-changing steps commit the
 * overlay upper dir of a writable snapshot as the layer, and a cache keyed on the parent image and the step as
 * recorded skips steps already built.
 *
 * The parts: build-run.ts (the stage graph), base-images.ts (FROM), steps.ts (each instruction kind),
 * step-cache.ts (cache lookup and commit of a step), step-roots.ts (the file systems a step works on), squash.ts,
 * sweep.ts (what killed builds left).
 */
export class Builder {
  readonly cache: BuildCache;
  readonly digests: FileDigestMemo;
  readonly runner: StepRunner;
  readonly intents: Intents;

  constructor(private readonly deps: BuilderDeps) {
    this.cache = new BuildCache(deps.db, (id) => deps.images.records.images.get(id) !== undefined);
    this.digests = new FileDigestMemo(deps.db);
    this.runner = deps.runner ?? new RuncStepRunner(path.join(deps.runRoot, 'runc'));
    this.intents = deps.intents ?? new Intents(deps.db);
  }

  async build(opts: BuildOptions): Promise<BuildResult> {
    try {
      return await new BuildRun(this, this.deps, opts).run();
    } finally {
      this.digests.flush();
    }
  }

  /** `builder du`: the build cache (the intermediate images steps left, the RUN --mount=type=cache directories). */
  diskUsage(): Promise<BuildCacheUsage> {
    return buildCacheUsage(this.deps);
  }

  /** `builder prune`: removes the build cache; returns the images deleted and the bytes reclaimed. */
  async prune(): Promise<{ deleted: Digest[]; reclaimed: number }> {
    const r = await pruneBuildCache(this.deps);
    this.deps.images.events?.emit('builder', 'prune', '', { reclaimed: String(r.reclaimed) });
    return r;
  }

  /** Removes what builds that died (SIGKILL) left; each build starts with it. See sweep.ts. */
  sweep(): Promise<number> {
    return sweepDeadBuilds(this.deps, this.runner, this.intents);
  }
}
