/**
 * `wharf/build`: builds from a Dockerfile, `docker build` semantics: `await new Builder(wharf).build({ … })`.
 */
export {
  Builder,
  BuildContext,
  BuildStepFailed,
  type BuilderDeps,
  type BuildOptions,
  type BuildResult,
  type FailedStep,
} from './build/index.js';
export type { StepRunner, RunStepRequest, RunStepResult } from './build/index.js';
export type { BuildCacheUsage } from './build/index.js';
