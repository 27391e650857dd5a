/**
 * `wharf/remote`: registries from the client side. `pull` and `push` between a registry and an opened `Wharf`, with
 * Docker's progress events; the registry client underneath; credentials in Docker's config format.
 */
export { pull, type PullOptions, type PullResult } from './transfer/index.js';
export { push, DEFAULT_COMPRESSION_LEVEL, type PushOptions, type PushResult } from './transfer/index.js';
export type { TransferEngine, TransferEvent, ProgressFn, TransferCommonOptions } from './transfer/index.js';
export { RegistryClient, type RemoteOptions, type RemoteManifest, type RemoteDescriptor, type SearchResult } from './remote/index.js';
export { CredentialStore, defaultCredentialFiles, type Credentials, type CredentialFiles, type CredentialSource } from './remote/index.js';
