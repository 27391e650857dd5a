/**
 * Image references as Docker parses them (distribution/reference): strict parsing, Docker Hub normalization, and the
 * familiar forms Docker prints. Pure: imports only errors and digest.
 */
export type { Reference } from './parse.js';
export { parseReference, isValidRepositoryPath, isValidTag, isValidDomain, NAME_TOTAL_LENGTH_MAX } from './parse.js';
export {
  parseNormalizedNamed,
  parseDockerRef,
  splitDockerDomain,
  withDefaultTag,
  nameOnly,
  DEFAULT_DOMAIN,
  LEGACY_DEFAULT_DOMAIN,
  OFFICIAL_REPO_PREFIX,
  DEFAULT_TAG,
} from './normalize.js';
export {
  repositoryName,
  formatReference,
  familiarName,
  familiarString,
  withTag,
  withDigest,
  looksLikeImageId,
} from './format.js';
