/** Wharf as a library: `import { Wharf } from 'wharf'`. */
export { Wharf, type WharfOptions } from './engine/index.js';
export { WharfError, is, type ErrorCode } from './errors/index.js';
export * as reference from './reference/index.js';
export * as oci from './oci/index.js';
export type { Digest } from './digest/index.js';
export type { ImageInspect, HistoryRow, ImageListRow } from './image/index.js';
