export type { BlobInfo, ContentStore, ContentWriter, Expected, IngestStatus, Ingester } from './types.js';
export { LocalContentStore } from './local.js';
