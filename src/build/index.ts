/**
 * The builder: `docker build` semantics (classic builder output, one image per step, the layer cache) over Wharf's
 * image store, snapshots and runc.
 */
export {
  Builder,
  BuildStepFailed,
  localPlatform,
  type BuilderDeps,
  type BuildOptions,
  type BuildResult,
  type FailedStep,
} from './builder.js';
export { BuildContext } from './context.js';
export { IgnoreMatcher, parseDockerignore, type IgnorePattern } from './dockerignore.js';
export { BuildCache, FileDigestMemo, cacheKey, type CacheEntry, type CacheKeyInput } from './cache.js';
export {
  RuncStepRunner,
  removeMountpoints,
  type StepRunner,
  type RunStepRequest,
  type RunStepResult,
} from './run-step.js';
export { applyMetadata, nopCommand, nopCommandString, runRecordedArgv, type StageMeta } from './metadata.js';
export { childImageConfig, type ChildImageInput } from './image-config.js';
export { goQuote, goQuoteSlice, goSlice } from './goformat.js';
export { goPathMatch, combinedHash, destinationPath } from './copy.js';
export { humanContextSize } from './format.js';
export type { BuildCacheUsage } from './prune.js';
export { cacheMountDir, cacheMountsUsage } from './cache-mounts.js';
