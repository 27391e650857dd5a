import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where one container's files live: persistent under the root, run-time (sockets) under the short run root. */
export interface ContainerPaths {
  /** `<root>/containers/<id>`: the OCI bundle (config.json), hostname, hosts, resolv.conf, json log. */
  dir: string;
  rootfs: string;
  config: string;
  hostname: string;
  hosts: string;
  resolvConf: string;
  log: string;
  /** The monitor's state dir `<runRoot>/c/<12 hex>`: short, as it holds a unix socket. */
  stateDir: string;
  /** A remapped container's user namespace while it runs: a bind-mounted nsfs file (`<runRoot>/userns/<id>`). */
  userns: string;
}

export function containerPaths(root: string, runRoot: string, id: string): ContainerPaths {
  const dir = path.join(root, 'containers', id);
  return {
    dir,
    rootfs: path.join(dir, 'rootfs'),
    config: path.join(dir, 'config.json'),
    hostname: path.join(dir, 'hostname'),
    hosts: path.join(dir, 'hosts'),
    resolvConf: path.join(dir, 'resolv.conf'),
    log: path.join(dir, `${id}-json.log`),
    stateDir: path.join(runRoot, 'c', id.slice(0, 12)),
    userns: path.join(runRoot, 'userns', id),
  };
}

export const snapshotKeyOf = (id: string): string => `container-${id}`;
/** The per-container init layer of containers created before init layers were shared (still removed with them). */
export const initKeyOf = (id: string): string => `init-${id}`;

/**
 * The init layer shared by every container on the same image top layer (its content depends only on the image and on
 * whether `--init` adds a /sbin/docker-init mount point). `scratch` stands for an image without layers.
 */
export const sharedInitKeyOf = (parentChain: string | undefined, withInit: boolean): string =>
  `init-of-${parentChain ?? 'scratch'}${withInit ? '+docker-init' : ''}`;

/**
 * The command that runs this installation's CLI from Node without bin/wharf's shell (the monitor's cleanup command):
 * with the V8 flags bin/wharf gives every verb (keep the two alike). V8 rejects a code cache made under other flags
 * (bin/load-bundle.cjs), so a process started without them would compile the whole bundle from source (~6 MB more
 * resident, and slower) and rewrite the cache for the next verb to reject in turn.
 */
export function wharfCommand(): string[] {
  return [process.execPath, '--max-semi-space-size=1', wharfBin()];
}

/**
 * The CLI's Node entry of this installation (bin/wharf.cjs, which bin/wharf runs), for the monitor's cleanup command;
 * run with process.execPath, so no shell wrapper in between.
 */
export function wharfBin(): string {
  for (const rel of ['../bin/wharf.cjs', '../../bin/wharf.cjs']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return 'wharf';
}
