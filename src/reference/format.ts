import { WharfError } from '../errors/index.js';
import type { Digest } from '../digest/index.js';
import { isDigest } from '../digest/index.js';
import { DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX } from './normalize.js';
import { isValidTag, type Reference } from './parse.js';

/** 'docker.io/library/ubuntu' (no tag, no digest). */
export function repositoryName(r: Reference): string {
  return r.domain === '' ? r.path : `${r.domain}/${r.path}`;
}

/** The full form: 'docker.io/library/ubuntu:latest', 'host:5000/x@sha256:…', or both tag and digest. */
export function formatReference(r: Reference): string {
  return repositoryName(r) + suffix(r);
}

/** Docker's FamiliarName: 'ubuntu', 'user/x', 'localhost:5000/x'; 'library/' is kept when more components follow. */
export function familiarName(r: Reference): string {
  if (r.domain !== DEFAULT_DOMAIN) return repositoryName(r);
  if (r.path.startsWith(OFFICIAL_REPO_PREFIX)) {
    const rest = r.path.slice(OFFICIAL_REPO_PREFIX.length);
    if (!rest.includes('/')) return rest;
  }
  return r.path;
}

/** Docker's FamiliarString: familiar name plus ':tag' and '@digest' when present. */
export function familiarString(r: Reference): string {
  return familiarName(r) + suffix(r);
}

function suffix(r: Reference): string {
  return (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '');
}

export function withTag(r: Reference, tag: string): Reference {
  if (!isValidTag(tag)) throw new WharfError('INVALID_ARGUMENT', `invalid tag format: ${JSON.stringify(tag)}`);
  return { ...r, tag };
}

export function withDigest(r: Reference, digest: Digest | string): Reference {
  if (!isDigest(digest)) throw new WharfError('INVALID_ARGUMENT', `invalid digest format: ${JSON.stringify(digest)}`);
  return { ...r, digest };
}

/**
 * True for strings Docker would try as an image ID before trying them as a name: 12 to 64 lowercase hex characters,
 * or 'sha256:' and 64 hex. (A 12-hex string is also a valid repository name; callers look up IDs first, as Docker does.)
 */
export function looksLikeImageId(s: string): boolean {
  return /^[a-f0-9]{12,64}$/.test(s) || /^sha256:[a-f0-9]{64}$/.test(s);
}
