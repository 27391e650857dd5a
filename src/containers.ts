/**
 * `wharf/containers`: the types of the container and volume services (`wharf.containers`, `wharf.tasks`,
 * `wharf.containerFiles`, `wharf.volumes`, `wharf.networks`, `wharf.containerNetworks`), their options, the records and the records with their observed status
 * (`ObservedContainer`). The services themselves come from an opened `Wharf`; running a container needs root and runc.
 */
export type {
  ContainerService,
  TaskService,
  ContainerFiles,
  CreateOptions,
  StartOptions,
  ExecOptions,
  VolumeService,
  VolumeRecord,
  CommitOptions,
} from './container/index.js';
export type {
  ContainerRecord,
  ObservedContainer,
  ContainerStatus,
  HostConfig,
  MountPoint,
  RunState,
} from './container/index.js';
export type {
  AttachOptions,
  AttachSession,
  AttachExit,
  ExecHandle,
  LogEntry,
  ReadLogsOptions,
  HealthState,
  HealthResult,
} from './runtime/index.js';
export type { HealthConfig } from './oci/index.js';
export type { Change } from './archive/index.js';
export type { ContainerNetworks, ConnectOptions, EndpointConfig } from './container/index.js';
// User-defined networks (`wharf.networks`, docs/networks.md).
export type {
  NetworkMode,
  NetworkService,
  NetworkCreateOptions,
  NetworkView,
  NetworkRecord,
  NetworkSubnet,
  EndpointRecord,
  AddressPool,
} from './network/index.js';
export { networkInspect, inspectedEndpoints, DEFAULT_POOLS } from './network/index.js';
export { inspectNetwork, networkFilter } from './engine/network-views.js';
// Docker's views over the services, shared by the CLI and the Engine API.
export {
  waitForCondition,
  parseWaitCondition,
  containerFilters,
  type WaitCondition,
  type ContainerFilter,
} from './container/index.js';
