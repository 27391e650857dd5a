export type {
  BlobInfo,
  ContentManager,
  ContentProvider,
  ContentStore,
  ContentWriter,
  Expected,
  IngestStatus,
  Ingester,
} from './types.js';
export { LocalContentStore } from './local.js';
export { MemoryContentStore, memoryContentState, type MemoryContentState } from './memory.js';
