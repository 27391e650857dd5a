/**
 * The registry client: ping, auth challenges (Basic, Bearer tokens), credentials (Docker-format config files and
 * credential helpers), manifests, blobs (HEAD, resumable GET, chunked/monolithic upload, cross-repository mount),
 * tags, catalog and search. Pure HTTP: never imports `content`.
 */
export {
  RegistryClient,
  MANIFEST_ACCEPT,
  checkManifestDigest,
  type RemoteOptions,
  type CredentialSource,
  type RemoteManifest,
  type RemoteDescriptor,
  type UploadSession,
  type SearchResult,
  type Page,
  type OpenBlobOptions,
} from './client.js';
export { parseChallenges, repositoryScope, type Challenge } from './auth.js';
export { CredentialStore, defaultCredentialFiles, authKeyFor, type Credentials, type CredentialFiles, type HelperRunner } from './credentials.js';
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
