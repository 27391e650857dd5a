/**
 * Tar read/write for image layers: breakout-safe apply (with OCI ↔ overlay whiteouts), deterministic tars of trees
 * and of overlay upper dirs, Docker's A/C/D changes, and decompression by magic bytes.
 */
export { zstdCompress, ZSTD_MAX_LEVEL } from './compress.js';
export { decompressStream, detectCompression, type Compression } from './decompress.js';
export { applyLayer, type ApplyOptions, type ApplyResult, type WhiteoutFormat } from './apply.js';
export { tarDirectory, type TarOptions } from './pack.js';
export { copyUpperLayer, type UpperCopyResult, type UpperCopyTuning } from './upper-copy.js';
export { overlayChanges, overlayDiffTar, type Change, type DiffTarOptions } from './overlay.js';
export { safeJoin, resolveInRoot, resolveInRootSync } from './paths.js';
export { tarStream } from './tar-lib.js';
export { isOverlayWhiteout, isOpaqueDir } from './fsmeta.js';
export { directoryChanges, directoryDiffTar } from './treediff.js';
export { walkTree, type TreeEntry } from './walk.js';
export { reownTar } from './reown.js';
