/**
 * OCI and Docker schema2 image formats: types, media types, validators for untrusted manifests and configs, and
 * platform matching. Pure: imports only errors and digest.
 */
export type {
  Platform,
  Descriptor,
  ImageManifest,
  ImageIndex,
  HealthConfig,
  ContainerConfig,
  HistoryEntry,
  ImageConfig,
  ParsedManifest,
} from './types.js';
export {
  MediaType,
  type KnownMediaType,
  DockerSchema1MediaTypes,
  baseMediaType,
  isIndexMediaType,
  isManifestMediaType,
  isConfigMediaType,
  isSchema1MediaType,
  isDockerMediaType,
  isLayerMediaType,
  isForeignLayerMediaType,
  layerCompression,
  layerMediaTypeFor,
} from './mediatypes.js';
export { MAX_MANIFEST_BYTES, parseManifest, referencedDescriptors } from './manifest.js';
export { MAX_CONFIG_BYTES, parseImageConfig } from './config.js';
export { validateDescriptor, validatePlatform, isValidMediaType } from './check.js';
export {
  hostPlatform,
  normalizePlatform,
  compatiblePlatforms,
  platformRank,
  platformMatches,
  isAttestationManifest,
  selectManifest,
  formatPlatform,
  parsePlatform,
} from './platform.js';
export { canonicalJson, descriptorFor } from './json.js';
