/**
 * `wharf/remote`: registries from the client side. The types of `wharf.registries` (pull and push between a registry
 * and an opened `Wharf`, with Docker's progress events) and of `WharfOptions.registries`; the registry client;
 * credentials in Docker's config format.
 */
export type {
  Registries,
  RegistrySettings,
  PullOptions,
  PullResult,
  PushOptions,
  PushResult,
} from './transfer/index.js';
export { DEFAULT_COMPRESSION_LEVEL } from './transfer/index.js';
export type { TransferEvent, ProgressFn, TransferCommonOptions } from './transfer/index.js';
export {
  RegistryClient,
  inspectDistribution,
  searchImages,
  type DistributionInfo,
  type RemotePlatform,
  type RemoteOptions,
  type RemoteManifest,
  type RemoteDescriptor,
  type SearchResult,
} from './remote/index.js';
export {
  CredentialStore,
  defaultCredentialFiles,
  type Credentials,
  type CredentialFiles,
  type CredentialSource,
} from './remote/index.js';
