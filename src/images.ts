/**
 * `wharf/images`: the types of the image service (`wharf.images`: resolve, tag, remove, prune, list, inspect, history,
 * diskUsage) and of its archives (`wharf.images.archives`: import, save, load), and the filter parser of `images`.
 * Loads neither the builder nor anything of the registry server.
 */
export type { ImageService, ImageArchives, ImageUsers, RemoveEvent, NewImage } from './image/index.js';
export type { ImageRecords, ImageRecord, LayerRecord, TagRecord, LayerStore } from './image/index.js';
export type { ImportOptions, LoadResult } from './image/index.js';
export {
  parseImageFilters,
  type ImageInspect,
  type HistoryRow,
  type ImageListRow,
  type ImageListOptions,
  type ImageFilters,
  type ImageDiskUsage,
} from './image/index.js';
export type { CheckReport, CheckProblem } from './image/index.js';
