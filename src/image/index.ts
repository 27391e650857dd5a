export {
  ImageService,
  MAX_CONFIG_BYTES,
  imageIdOf,
  type ImageUsers,
  type RemoveEvent,
  type NewImage,
} from './service.js';
export { ImageRecords, type ImageRecord, type LayerRecord, type TagRecord } from './records.js';
export { LayerStore, chainIdOf, chainIds, type CreateLayerOptions } from './layers.js';
export { applyChanges } from './changes.js';
export {
  applyInstruction,
  isConfigInstruction,
  commandArgv,
  nextWorkdir,
  shellOf,
  type ConfigInstruction,
  type ConfigState,
} from './apply-instruction.js';
export { ImageArchives } from './archives.js';
export type { ImportOptions } from './importer.js';
export type { LoadResult } from './load.js';
export {
  listImages,
  inspectImage,
  imageHistory,
  imageDiskUsage,
  parseImageFilters,
  type ImageInspect,
  type HistoryRow,
  type ImageListRow,
  type ImageListOptions,
  type ImageFilters,
  type ImageDiskUsage,
} from './docker-shapes.js';
export {
  checkImageStore,
  type ImageStoreParts,
  type CheckReport,
  type CheckProblem,
  type CheckOwners,
} from './check.js';
export {
  ImageInIntentLog,
  IMAGE_IN_KINDS,
  checkImageIntents,
  LOAD_INTENT,
  PULL_INTENT,
  PUSH_INTENT,
  recoverImageIn,
  rollBackImageIn,
  type ImageInIntent,
  type ImageIntentDeps,
} from './transfer-intent.js';
