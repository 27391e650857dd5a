/**
 * Pull and push: join the registry client (`remote`) with the content store, image records and layer store.
 * Layers move a few at a time, what exists is skipped, and progress is reported as Docker shows it.
 */
export { pull, type PullOptions, type PullResult } from './pull.js';
export { push, DEFAULT_COMPRESSION_LEVEL, type PushOptions, type PushResult } from './push.js';
export { Registries, type RegistrySettings } from './service.js';
export { ParallelGzip, type ParallelGzipOptions } from './pgzip.js';
export type { TransferEngine, TransferEvent, ProgressFn, TransferCommonOptions } from './types.js';
