import { isDigest, type Digest } from '../digest/index.js';
import { WharfError } from '../errors/index.js';
import {
  AnchoredDomainRegexp,
  AnchoredNameRegexp,
  AnchoredPathComponentRegexp,
  AnchoredRemoteNameRegexp,
  AnchoredTagRegexp,
  ReferenceRegexp,
} from './grammar.js';

/**
 * A parsed image reference. `domain` is '' only when `parseReference` saw no domain; `parseNormalizedNamed` always
 * fills it in. Plain data so it can cross module boundaries and be stored as JSON.
 */
export interface Reference {
  domain: string;
  path: string;
  tag?: string;
  digest?: Digest;
}

/**
 * Docker's limit, on the path only (not domain, tag or digest). Older distribution/reference releases counted the
 * whole name; current ones count the path, and Docker 28 (checked) accepts 'x.com/' plus 255 characters, so do we.
 */
export const NAME_TOTAL_LENGTH_MAX = 255;

const FORMAT = 'invalid reference format';

function invalid(reason: string, input: string): WharfError {
  return new WharfError('INVALID_ARGUMENT', `${FORMAT}: ${reason}`, { details: { reference: input } });
}

/**
 * Parses `[domain/]path[:tag][@digest]` strictly: no Docker Hub defaults, no lower-casing. The optional domain is taken
 * greedily as Go does, so 'library/ubuntu' gives domain 'library'; use `parseNormalizedNamed` for user input.
 */
export function parseReference(s: string): Reference {
  return parseReferenceShown(s, s);
}

/** `shown` is what the user typed, for messages, when `s` is our normalized expansion of it. */
export function parseReferenceShown(s: string, shown: string): Reference {
  if (s === '' || shown === '') throw invalid('repository name must have at least one component', shown);
  const m = ReferenceRegexp.exec(s);
  if (!m) throw explainFailure(s, shown);
  const name = m[1]!;
  const nm = AnchoredNameRegexp.exec(name);
  const domain = nm?.[1] ?? '';
  const path = nm ? nm[2]! : name;
  if (path.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`, shown);
  }
  const ref: Reference = { domain, path };
  if (m[2] !== undefined) ref.tag = m[2];
  if (m[3] !== undefined) {
    if (!isDigest(m[3])) throw invalid(`invalid digest "${m[3]}" (want sha256:<64 hex> or sha512:<128 hex>)`, shown);
    ref.digest = m[3];
  }
  return ref;
}

/**
 * Docker only says "invalid reference format"; we say which part is wrong. The order mirrors how a reader scans the
 * string: digest after '@', tag after the last ':' of the last component, then each path component.
 */
function explainFailure(s: string, shown: string): WharfError {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(shown);
  if (scheme) return invalid(`an image reference has no scheme; drop "${scheme[0]}"`, shown);
  const lower = s.toLowerCase();
  if (lower !== s && ReferenceRegexp.test(lower))
    return invalid(`repository name (${nameOf(s)}) must be lowercase`, shown);

  let rest = s;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const dg = rest.slice(at + 1);
    if (!isDigest(dg)) return invalid(`invalid digest "${dg}" (want sha256:<64 hex> or sha512:<128 hex>)`, shown);
    rest = rest.slice(0, at);
  }
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    const tag = rest.slice(colon + 1);
    if (!AnchoredTagRegexp.test(tag)) {
      return invalid(
        `invalid tag "${tag}" (up to 128 characters of [A-Za-z0-9_.-], not starting with '.' or '-')`,
        shown,
      );
    }
    rest = rest.slice(0, colon);
  }
  if (rest === '') return invalid('repository name must have at least one component', shown);
  const parts = rest.split('/');
  if (parts.some((p) => p === '')) {
    return invalid(`empty path component (leading, trailing or double '/') in "${shown}"`, shown);
  }
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (i === 0 && parts.length > 1 && AnchoredDomainRegexp.test(p)) continue;
    if (!AnchoredPathComponentRegexp.test(p)) {
      if (p.toLowerCase() !== p && AnchoredPathComponentRegexp.test(p.toLowerCase())) {
        return invalid(`repository name (${p}) must be lowercase`, shown);
      }
      return invalid(
        `invalid repository name component "${p}" (lowercase letters and digits, separated by '.', '_', '__' or '-')`,
        shown,
      );
    }
  }
  return invalid(JSON.stringify(shown), shown);
}

function nameOf(s: string): string {
  let rest = s;
  const at = rest.indexOf('@');
  if (at >= 0) rest = rest.slice(0, at);
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) rest = rest.slice(0, colon);
  return rest;
}

/** `<name>` in registry routes: path components joined by '/', at most 255 characters. */
export function isValidRepositoryPath(path: string): boolean {
  return path.length > 0 && path.length <= NAME_TOTAL_LENGTH_MAX && AnchoredRemoteNameRegexp.test(path);
}

export function isValidTag(tag: string): boolean {
  return AnchoredTagRegexp.test(tag);
}

/** host, host:port, [IPv6] or [IPv6]:port, as the reference grammar allows them. */
export function isValidDomain(domain: string): boolean {
  return AnchoredDomainRegexp.test(domain);
}
