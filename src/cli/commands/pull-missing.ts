import type { Writable } from 'node:stream';
import type { Wharf } from '../../engine/index.js';
import { WharfError } from '../../errors/index.js';
import { parsePlatform, platformMatches } from '../../oci/index.js';
import {
  familiarString,
  formatReference,
  parseNormalizedNamed,
  withDefaultTag,
  type Reference,
} from '../../reference/index.js';

/**
 * Pulls on demand, as the docker CLI does for `run`/`create` (`--pull always|missing|never`) and as the classic
 * builder does for FROM: the same pull, progress and registry options as the `pull` verb.
 */

export type PullPolicy = 'always' | 'missing' | 'never';

/** `--pull`'s value, checked before anything runs (docker CLI's message). */
export function pullPolicyOf(v: string | undefined): PullPolicy {
  const p = v ?? 'missing';
  if (p === 'always' || p === 'missing' || p === 'never') return p;
  throw new WharfError(
    'INVALID_ARGUMENT',
    `invalid pull option: '${p}': must be one of "always", "missing" or "never"`,
  );
}

/** The reference a pull of `image` would use, or undefined when `image` is no name (an ID, an invalid string). */
function namedOf(image: string): Reference | undefined {
  if (/^(sha256:)?[a-f0-9]{64}$/.test(image)) return undefined;
  try {
    return parseNormalizedNamed(image);
  } catch {
    return undefined;
  }
}

/**
 * Pulls `image` with the `pull` verb's registry options (insecure registries and credentials from the environment),
 * its progress on `out` as the daemon streams it to Docker's CLI for run/create/build: the name gets its default tag
 * first (no "Using default tag"). `platform` (`--platform`) picks the image of a multi-platform index.
 */
export async function pullImage(w: Wharf, image: string, out: Writable | null, platform?: string): Promise<void> {
  // Loaded here: a `run` of an image in the store does not pay for the registry client.
  const { progressPrinter, remoteOptionsFor } = await import('./registry-client.js');
  const ref = withDefaultTag(parseNormalizedNamed(image));
  const print = out
    ? progressPrinter(out, { quiet: false, tty: (out as { isTTY?: boolean }).isTTY === true })
    : () => {};
  await w.registries.pull(formatReference(ref), {
    remote: remoteOptionsFor(ref.domain, {}),
    onProgress: print,
    ...(platform ? { platform } : {}),
  });
}

/** Whether the stored image `nameOrId` is there and, when `platform` is given, of that platform. */
async function presentFor(w: Wharf, image: string, platform: string | undefined): Promise<boolean> {
  const rec = w.images.tryResolve(image);
  if (!rec || !platform) return rec !== undefined;
  const { config } = await w.images.config(rec.id);
  const have = {
    os: config.os,
    architecture: config.architecture,
    ...(config.variant ? { variant: config.variant } : {}),
  };
  return platformMatches(parsePlatform(platform), have);
}

/**
 * `run`/`create`: makes sure `image` is in the store according to `policy` before the container is created. Docker's
 * CLI prints `Unable to find image 'NAME:TAG' locally` and the pull's progress on stderr (`err`; null with `--quiet`);
 * with `never` (or a name that cannot be pulled) the create then fails with the store's "No such image". With
 * `--platform`, an image of another platform counts as missing (dockerd answers "does not match the specified
 * platform" as not found, and the CLI pulls that platform).
 */
export async function ensureImage(
  w: Wharf,
  image: string,
  policy: PullPolicy,
  err: Writable | null,
  platform?: string,
): Promise<void> {
  if (platform) parsePlatform(platform); // a bad value fails before anything is pulled
  if (policy === 'never') return;
  const named = namedOf(image);
  if (!named) return;
  if (policy === 'always') {
    await pullImage(w, image, err, platform);
    return;
  }
  if (await presentFor(w, image, platform)) return;
  err?.write(`Unable to find image '${familiarString(withDefaultTag(named))}' locally\n`);
  await pullImage(w, image, err, platform);
}
