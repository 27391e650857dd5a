/**
 * Wharf as a library: `import { Wharf, pull, Builder, startRegistry } from 'wharf'`.
 * The engine (`Wharf.open`) wires the stores and services; the verbs below take it as their first argument.
 */
export { Wharf, type WharfOptions } from './engine/index.js';
export { WharfError, is, codeOf, type ErrorCode } from './errors/index.js';
export * as reference from './reference/index.js';
export * as oci from './oci/index.js';
export type { Digest } from './digest/index.js';

// Images: import, save/load, views, checks.
export {
  importTarball,
  saveImages,
  loadArchive,
  inspectImage,
  imageHistory,
  listImages,
  imageDiskUsage,
  checkImageStore,
  type ImportOptions,
  type ImageInspect,
  type HistoryRow,
  type ImageListRow,
} from './image/index.js';

// Registries: pull and push with progress events.
export { pull, push, type PullOptions, type PullResult, type PushOptions, type PushResult, type TransferEvent } from './transfer/index.js';

// Builds from a Dockerfile.
export { Builder, BuildContext, BuildStepFailed, type BuildOptions, type BuildResult } from './build/index.js';

// The registry server.
export { startRegistry, loadRegistryConfig, collectGarbage, type RunningRegistry, type RegistryConfig, type GcReport } from './registry/index.js';
