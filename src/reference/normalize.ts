import { WharfError } from '../errors/index.js';
import { AnchoredIdentifierRegexp } from './grammar.js';
import { parseReferenceShown, type Reference } from './parse.js';

export const DEFAULT_DOMAIN = 'docker.io';
/** The old "Docker Index" name of Docker Hub; still used for auth and search, folded into DEFAULT_DOMAIN for names. */
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
export const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';

/**
 * Docker's rule for whether the first component is a registry: only with a '/' after it, and only if it is
 * 'localhost', contains '.' or ':', or has upper case (namespaces cannot). Single names always go to Docker Hub,
 * so 'localhost:5000' alone is repository 'localhost' tag '5000', exactly as in Docker.
 */
export function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  if (slash < 0) return { domain: DEFAULT_DOMAIN, remainder: OFFICIAL_REPO_PREFIX + name };
  let domain = name.slice(0, slash);
  let remainder = name.slice(slash + 1);
  if (domain === LEGACY_DEFAULT_DOMAIN) {
    domain = DEFAULT_DOMAIN;
  } else if (domain !== 'localhost' && !/[.:]/.test(domain) && domain.toLowerCase() === domain) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  }
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/** Docker's ParseNormalizedNamed: user input ('ubuntu', 'user/app:1', 'host:5000/x@sha256:…') to a full reference. */
export function parseNormalizedNamed(s: string): Reference {
  if (AnchoredIdentifierRegexp.test(s)) {
    throw new WharfError(
      'INVALID_ARGUMENT',
      `invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`,
      { details: { reference: s } },
    );
  }
  const { domain, remainder } = splitDockerDomain(s);
  // Like Docker, cut at the first ':' so the tag (which may be upper case) is not checked here.
  const colon = remainder.indexOf(':');
  const remote = colon >= 0 ? remainder.slice(0, colon) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw new WharfError(
      'INVALID_ARGUMENT',
      `invalid reference format: repository name (${remote}) must be lowercase`,
      {
        details: { reference: s },
      },
    );
  }
  return parseReferenceShown(`${domain}/${remainder}`, s);
}

/** Docker's ParseDockerRef: like parseNormalizedNamed, but 'name:tag@digest' keeps only the digest, and adds 'latest'. */
export function parseDockerRef(s: string): Reference {
  const r = parseNormalizedNamed(s);
  if (r.tag !== undefined && r.digest !== undefined) return { domain: r.domain, path: r.path, digest: r.digest };
  return withDefaultTag(r);
}

export function withDefaultTag(r: Reference): Reference {
  if (r.tag !== undefined || r.digest !== undefined) return r;
  return { ...r, tag: DEFAULT_TAG };
}

/** The reference without tag or digest (Go's TrimNamed). */
export function nameOnly(r: Reference): Reference {
  return { domain: r.domain, path: r.path };
}
