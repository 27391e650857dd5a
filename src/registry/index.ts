/**
 * The registry server: OCI distribution-spec v1.1 over one global blob store and a metadata index.
 * Imports only errors, util, digest, reference and oci: never the engine.
 */
export {
  startRegistry,
  openRegistryStore,
  openRegistryIndex,
  openBlobDriver,
  migratePostgres,
  type RunningRegistry,
  type StartOptions,
} from './server/server.js';
export {
  loadRegistryConfig,
  resolveRegistryConfig,
  parseDuration,
  parseAddr,
  type RegistryConfig,
  type DatabaseConfig,
  type AccessRule,
  type Action,
} from './config.js';
export {
  collectGarbage,
  collectIndex,
  claimOrphans,
  markGarbage,
  type GcGraph,
  type GcReport,
  type GcRunOptions,
} from './gc.js';
export { RegistryStore } from './store.js';
export type { BlobDriver, BlobWriter } from './storage/driver.js';
export { FilesystemDriver } from './storage/filesystem.js';
export { MemoryDriver } from './storage/memory.js';
export type {
  RegistryIndex,
  RepositoryIndex,
  BlobIndex,
  ManifestIndex,
  TagIndex,
  UploadIndex,
  LeaseIndex,
  GcIndex,
  GcTransaction,
  GcManifest,
  GcReference,
  ManifestRecord,
  ManifestPut,
  UploadRecord,
  GcCollected,
  GcOptions,
  Page,
} from './metadata/index.js';
export { SqliteRegistryIndex } from './metadata/sqlite.js';
export { MemoryRegistryIndex } from './metadata/memory.js';
export { RegistryMetrics } from './server/metrics.js';
export { htpasswdLine, readHtpasswd } from './server/auth.js';
