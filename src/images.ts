/**
 * `wharf/images`: the image service's types (`wharf.images`) and the image verbs that take it: import, save, load,
 * inspect, history, list, disk usage, check. Loads neither the builder nor anything of the registry server.
 */
export type { ImageService, ImageUsers, RemoveEvent, NewImage } from './image/index.js';
export type { ImageRecords, ImageRecord, LayerRecord, TagRecord, LayerStore } from './image/index.js';
export { importTarball, type ImportOptions } from './image/index.js';
export { saveImages, loadArchive, type LoadResult } from './image/index.js';
export {
  inspectImage,
  imageHistory,
  listImages,
  parseImageFilters,
  imageDiskUsage,
  type ImageInspect,
  type HistoryRow,
  type ImageListRow,
  type ImageFilters,
  type ImageDiskUsage,
} from './image/index.js';
export { checkImageStore, type CheckReport, type CheckProblem, type CheckOwners } from './image/index.js';
