/**
 * `wharf/images`: the types of the image service (`wharf.images`: resolve, create, tag, remove, prune) and of its
 * archives (`wharf.images.archives`: import, save, load); Docker's listings over the service (`listImages`,
 * `inspectImage`, `imageHistory`, `imageDiskUsage`) and the filter parser of `images`.
 * Loads neither the builder nor anything of the registry server.
 */
export type { ImageService, ImageArchives, ImageUsers, RemoveEvent, NewImage } from './image/index.js';
export type { ImageRecords, ImageRecord, LayerRecord, TagRecord, LayerStore } from './image/index.js';
export type { ImportOptions, LoadResult } from './image/index.js';
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
} from './image/index.js';
export type { CheckReport, CheckProblem } from './image/index.js';
