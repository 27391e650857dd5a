/**
 * The registry server: OCI distribution-spec v1.1 over one global blob store and a metadata index.
 * Imports only errors, util, digest, reference and oci: never the engine.
 */
export { startRegistry, openRegistryStore, type RunningRegistry, type StartOptions } from './server/server.js';
export { loadRegistryConfig, resolveRegistryConfig, parseDuration, parseAddr, type RegistryConfig, type AccessRule, type Action } from './config.js';
export { collectGarbage, type GcReport, type GcRunOptions } from './gc.js';
export { RegistryStore } from './store.js';
export type { BlobDriver, BlobWriter } from './storage/driver.js';
export { FilesystemDriver } from './storage/filesystem.js';
export type { RegistryIndex, ManifestRecord, ManifestPut, UploadRecord, GcCollected, GcOptions, Page } from './metadata/index.js';
export { SqliteRegistryIndex } from './metadata/sqlite.js';
export { htpasswdLine, readHtpasswd } from './server/auth.js';
