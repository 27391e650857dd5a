/**
 * `wharf/registry`: the registry server (OCI distribution-spec v1.1), its configuration and garbage collector.
 * The only entry that loads jose and bcrypt (the token service and htpasswd).
 */
export { startRegistry, openRegistryStore, type RunningRegistry, type StartOptions } from './registry/index.js';
export {
  loadRegistryConfig,
  resolveRegistryConfig,
  type RegistryConfig,
  type AccessRule,
  type Action,
} from './registry/index.js';
export { collectGarbage, type GcReport, type GcRunOptions } from './registry/index.js';
export { RegistryStore, FilesystemDriver, MemoryDriver, type BlobDriver, type BlobWriter } from './registry/index.js';
// The index behind the store, in parts as distribution splits its services; two backends run one shared suite.
export { SqliteRegistryIndex, MemoryRegistryIndex } from './registry/index.js';
export type {
  RegistryIndex,
  RepositoryIndex,
  BlobIndex,
  ManifestIndex,
  TagIndex,
  UploadIndex,
  LeaseIndex,
  GcIndex,
  ManifestRecord,
  ManifestPut,
  UploadRecord,
  Page,
} from './registry/index.js';
export { htpasswdLine } from './registry/index.js';
