/**
 * Containers, split as containerd splits them: records and config (ContainerService: create, inspect, list, rename,
 * rm), the task life cycle (TaskService: start under a monitor, stop, kill, wait, logs, exec, the teardown after the
 * exit), the file systems (ContainerFiles: diff, commit, export, cp), over one ContainerStore (record, layers,
 * bundle); and local volumes.
 */
export * from './types.js';
export * from './names.js';
export * from './mount-spec.js';
export * from './paths.js';
export * from './restart-policy.js';
export { ContainerRecords, CONTAINER_MIGRATIONS } from './records.js';
export { VolumeService, type VolumeRecord, type VolumeUsers } from './volumes.js';
export { ContainerStore, type ContainerStoreOptions } from './store.js';
export { ContainerService, type CreateOptions, type ContainerServiceOptions } from './service.js';
export { TaskService, normalizeSignal, type StartOptions, type TaskServiceOptions } from './tasks.js';
export type { ExecOptions } from './exec.js';
export { ContainerFiles, type ContainerFilesOptions } from './files.js';
export type { RestoreResult } from './restore.js';
export { statusText, portsText, commandText } from './docker-shapes.js';
export {
  healthConfigFromFlags,
  mergeHealthcheck,
  validateHealthcheck,
  healthProbe,
  healthStatusText,
  HEALTH_FILTER_VALUES,
  type HealthFlags,
} from './health.js';
export { commitConfig, EMPTY_TAR_DIFF_ID, type CommitOptions } from './commit.js';
export {
  COMMIT_INTENT,
  commitLockFile,
  recoverCommits,
  rollBackCommit,
  type CommitIntent,
  type CommitRecovery,
} from './commit-intent.js';
export { START_INTENT, recoverStarts, type StartRecovery } from './start-intent.js';
export {
  BUILD_STEP_INTENT,
  buildStepLeftovers,
  recoverBuildSteps,
  rollBackBuildStep,
  type BuildStepIntent,
  type BuildStepRecovery,
} from './build-intent.js';
export { logAttributes, logDetailsPrefix } from './log-attrs.js';
export * from './resources.js';
export { stepSpecOptions } from './bundle.js';
export { parseSecurityOpts } from './run-modes.js';
export {
  UsernsRanges,
  parseUsernsMode,
  subordinateRanges,
  firstFreeRange,
  DEFAULT_SUBID_USER,
  type IdRange,
} from './userns.js';
export {
  cgroupVersion,
  hostResources,
  parseProcLimits,
  hasSysResource,
  applicableUlimits,
  probeUlimits,
} from './host-resources.js';
export { checkContainerNetworks, checkContainers } from './check.js';
export { splitCpArg, goFileMode, type PathStat } from './cp.js';
export { waitForCondition, parseWaitCondition, type WaitCondition } from './wait-condition.js';
export { containerFilters, type ContainerFilter } from './list-filters.js';
export { volumeInspect, volumeFilters } from './volume-shapes.js';
export { unknownVolumeDriver } from './create-checks.js';
export { containerTop } from './top.js';
export { ContainerNetworks, type ConnectOptions } from './network-attach.js';
