import { constants, promises as fsp } from 'node:fs'; // fs.promises loads on first use, node:fs/promises at start-up

/** Static inits Docker and podman use for `--init`; the first that exists is bind-mounted at /sbin/docker-init. */
export const INIT_CANDIDATES: readonly string[] = [
  '/usr/bin/docker-init',
  '/usr/bin/tini-static',
  '/usr/libexec/podman/catatonit',
  '/usr/bin/catatonit',
];

/**
 * The host's static init binary for `--init`, or undefined when none is installed (Debian: `tini`, which docker.io
 * depends on). It must be static: it runs inside the container's root filesystem.
 */
export async function findInitBinary(candidates: readonly string[] = INIT_CANDIDATES): Promise<string | undefined> {
  for (const c of candidates) {
    try {
      await fsp.access(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  return undefined;
}
