/**
 * The registry client: ping, auth challenges (Basic, Bearer tokens), credentials (Docker-format config files and
 * credential helpers), manifests, blobs (HEAD, resumable GET, chunked/monolithic upload, cross-repository mount),
 * tags, catalog and search. Pure HTTP: never imports `content`.
 *
 * Layers, bottom up: transport.ts (the one node:http/https transport), redirect.ts, auth.ts (with challenge.ts and
 * token.ts), retry.ts, ping.ts, resumable.ts; session.ts composes them; manifests.ts, blobs.ts, uploads.ts,
 * listing.ts and search.ts are the API verbs; client.ts is the facade.
 */
export { RegistryClient } from './client.js';
export type { RemoteOptions, CredentialSource } from './options.js';
export type { PingResult } from './ping.js';
export {
  Manifests,
  MANIFEST_ACCEPT,
  checkManifestDigest,
  type RemoteManifest,
  type RemoteDescriptor,
} from './manifests.js';
export { Blobs, type OpenBlobOptions } from './blobs.js';
export { Uploads, type UploadSession } from './uploads.js';
export { Tags, Catalog, type Page, type PageOptions, type ListOptions } from './listing.js';
export type { SearchResult } from './search.js';
export { parseChallenges, repositoryScope, type Challenge } from './challenge.js';
export {
  CredentialStore,
  defaultCredentialFiles,
  authKeyFor,
  type Credentials,
  type CredentialFiles,
  type HelperRunner,
} from './credentials.js';
export {
  endpointFor,
  isLoopbackHost,
  isListedInsecure,
  registryFromServerArg,
  searchTarget,
  normalizeAuthKey,
  splitHostPort,
  DOCKER_HUB_API_HOST,
  DOCKER_HUB_AUTH_KEY,
  DOCKER_HUB_INDEX_HOST,
  type RegistryEndpoint,
  type EndpointOptions,
} from './hosts.js';
export { registryError, parseErrorBody, type RegistryErrorEntry } from './errors.js';
export { nextLink, parseContentRange } from './links.js';
export {
  inspectDistribution,
  searchImages,
  type DistributionInfo,
  type RemotePlatform,
} from './distribution.js';
