import { WharfError } from '../errors/index.js';

/** The API version advertised (Docker 24's): the docker CLI negotiates down to it. */
export const API_VERSION = '1.43';
/** The oldest one answered (dockerd 25's minimum). */
export const MIN_API_VERSION = '1.24';

function num(v: string): number {
  const [major = '0', minor = '0'] = v.split('.');
  return Number(major) * 1000 + Number(minor);
}

/**
 * Splits `/v1.41/containers/json` into the version and the path. An unversioned path is the newest version; one
 * out of range is dockerd's 400.
 */
export function splitVersion(pathname: string): { version: string; path: string } {
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(pathname);
  if (!m) return { version: API_VERSION, path: pathname };
  const version = m[1]!;
  if (num(version) > num(API_VERSION))
    throw new WharfError(
      'INVALID_ARGUMENT',
      `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`,
    );
  if (num(version) < num(MIN_API_VERSION))
    throw new WharfError(
      'INVALID_ARGUMENT',
      `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  return { version, path: m[2]! };
}
