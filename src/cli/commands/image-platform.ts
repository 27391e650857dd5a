import { WharfError } from '../../errors/index.js';
import type { Wharf } from '../../engine/index.js';
import { formatPlatform, parsePlatform, platformMatches, type Platform } from '../../oci/index.js';
import { markDaemonSide } from '../errors.js';

/** A stored image's platform, from its config (Wharf keeps one platform per image, as Docker's classic store). */
export async function imagePlatform(w: Wharf, nameOrId: string): Promise<Platform> {
  const { config } = await w.images.config(w.images.resolve(nameOrId).id);
  return {
    os: config.os,
    architecture: config.architecture,
    ...(config.variant ? { variant: config.variant } : {}),
  };
}

/**
 * `history|rmi|save|push --platform`: the image named is the one of that platform, else dockerd's not-found for it
 * (daemon/images GetImage with a platform). Each image of Wharf's store has a single platform, so selecting "that
 * platform's manifest" is checking the image's own.
 */
export async function requirePlatform(w: Wharf, nameOrId: string, platform: string | undefined): Promise<void> {
  if (platform === undefined) return;
  const want = parsePlatform(platform);
  const have = await imagePlatform(w, nameOrId);
  if (!platformMatches(want, have))
    throw markDaemonSide(
      new WharfError(
        'NOT_FOUND',
        `image with reference ${nameOrId} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(have)}`,
      ),
    );
}
