/**
 * Containers: records and life cycle (create on an image's layers, start under a monitor, stop, kill, rm), logs,
 * exec, diff, commit, cp, export, and local volumes.
 */
export * from './types.js';
export * from './names.js';
export * from './mount-spec.js';
export * from './paths.js';
export { ContainerRecords, CONTAINER_MIGRATIONS } from './records.js';
export { VolumeService, type VolumeRecord } from './volumes.js';
export { ContainerService, normalizeSignal, type CreateOptions, type StartOptions, type ContainerServiceOptions } from './service.js';
export { statusText, portsText, commandText, inspectContainer } from './views.js';
export { commitConfig, commitImage, EMPTY_TAR_DIFF_ID, type CommitOptions } from './commit.js';
export { splitCpArg, copyFromContainer, copyToContainer } from './cp.js';
