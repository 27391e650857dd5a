/**
 * Docker's reference grammar, transcribed from distribution/reference regexp.go so that what Docker accepts we accept,
 * and what it rejects we reject. Kept as strings first so the composite expressions read like the Go original.
 */

const alphanumeric = '[a-z0-9]+';
// Docker allows one '.', one '_', two '_' or any run of '-' between alphanumerics.
const separator = '(?:[._]|__|[-]+)';
export const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;

const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
// Only the shape is checked; the daemon leaves real IPv6 validation to the resolver.
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const host = `(?:${domainName}|${ipv6address})`;
const optionalPort = '(?::[0-9]+)?';
export const domainAndPort = `${host}${optionalPort}`;

export const tag = '[\\w][\\w.-]{0,127}';
// The reference grammar accepts any registered-looking algorithm; the digest module decides which we can verify.
export const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';

export const remoteName = `${pathComponent}(?:/${pathComponent})*`;
export const namePat = `(?:${domainAndPort}/)?${remoteName}`;

export const ReferenceRegexp = new RegExp(`^(${namePat})(?::(${tag}))?(?:@(${digestPat}))?$`);
// Greedy on the optional domain, exactly like Go's anchoredNameRegexp: 'a/b' splits into domain 'a', path 'b'.
export const AnchoredNameRegexp = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
export const AnchoredTagRegexp = new RegExp(`^${tag}$`);
export const AnchoredDomainRegexp = new RegExp(`^${domainAndPort}$`);
export const AnchoredRemoteNameRegexp = new RegExp(`^${remoteName}$`);
export const AnchoredPathComponentRegexp = new RegExp(`^${pathComponent}$`);
export const AnchoredDigestRegexp = new RegExp(`^${digestPat}$`);
/** A full 64-hex image ID: Docker refuses it as a repository name. */
export const AnchoredIdentifierRegexp = /^[a-f0-9]{64}$/;
