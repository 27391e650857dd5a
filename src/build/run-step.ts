import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { WharfError, isErrno } from '../errors/index.js';
import { shortId } from '../digest/index.js';
import { resolveInRoot } from '../archive/index.js';
import { DEFAULT_GATEWAY, parseAddHost } from '../network/index.js';
import { isOpaqueDir } from '../archive/fsmeta.js';
import {
  buildSpec,
  hostMaskedPaths,
  Runc,
  type MountRequest,
  type NetworkAttachment,
  type SpecOptions,
} from '../runtime/index.js';
import { ifExists, spawn, testPausePoint, type IdMap } from '../util/index.js';

/**
 * Runs one RUN step as a short-lived container: an OCI bundle on the already-mounted rootfs, `runc run` in the
 * foreground with its output piped to the build output, then `runc delete`. The runtime module's spec builder makes
 * the config (no rlimits: this host refuses prlimit). Behind an interface so another runner can replace it.
 */

export interface RunStepRequest {
  /** Container ID (64 hex); the hostname is its first 12 characters, as in Docker. */
  id: string;
  /** The step's remapped user namespace (engine-wide `userns-remap`, step-userns.ts); the host's without. */
  userns?: { map: IdMap; path: string };
  /** The mounted, writable rootfs. */
  rootfs: string;
  /** A private directory for config.json and the /etc files. */
  bundleDir: string;
  argv: string[];
  /** The step's environment: image Env, then build args. */
  env: string[];
  workdir?: string;
  user?: string;
  network: 'default' | 'host' | 'none';
  /** `--add-host` values `name:ip`. */
  extraHosts?: string[];
  mounts?: MountRequest[];
  /** Resource and security settings (build's flags), merged under the step's own options. */
  spec?: Partial<SpecOptions>;
  /** The parent of the step's cgroup (`build --cgroup-parent`); runc's default path without it. */
  cgroupParent?: string;
  stdout: Writable;
  stderr: Writable;
  signal?: AbortSignal;
}

export interface RunStepResult {
  exitCode: number;
  /** Paths (rootfs-absolute) the runner created only to mount something there; they must not reach the layer. */
  mountpoints: string[];
  /** Existing directories a mountpoint was created in (overlay copies them up), with their metadata before the run. */
  parents: ParentDir[];
}

export interface ParentDir {
  path: string;
  mode: number;
  uid: number;
  gid: number;
}

export interface StepRunner {
  run(req: RunStepRequest): Promise<RunStepResult>;
}

const ETC_FILES = ['/etc/resolv.conf', '/etc/hostname', '/etc/hosts'];
const RUNTIME_DIRS = ['/proc', '/sys', '/dev'];

async function exists(rootfs: string, p: string): Promise<boolean> {
  try {
    await fsp.lstat(await resolveInRoot(rootfs, p));
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return false;
    throw err;
  }
}

/** The paths in `targets` (and their parents) that do not exist yet in the rootfs, deepest first. */
async function missingPaths(rootfs: string, targets: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const t of targets) {
    let p = path.posix.normalize(t);
    while (p !== '/' && !(await exists(rootfs, p))) {
      out.add(p);
      p = path.posix.dirname(p);
    }
  }
  return [...out].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : 1));
}

function hostResolvConf(): string {
  try {
    const text = readFileSync('/etc/resolv.conf', 'utf8');
    // A loopback resolver of the host (systemd-resolved) is unreachable from another network namespace.
    return text;
  } catch {
    return '';
  }
}

export class RuncStepRunner implements StepRunner {
  readonly runc: Runc;

  constructor(runcRoot: string) {
    this.runc = new Runc({ root: runcRoot });
  }

  async run(req: RunStepRequest): Promise<RunStepResult> {
    const hostname = shortId(req.id);
    const mountTargets = [...ETC_FILES, ...RUNTIME_DIRS, ...(req.mounts ?? []).map((m) => m.destination)];
    const mountpoints = await missingPaths(req.rootfs, mountTargets);
    const parents: ParentDir[] = [];
    for (const p of new Set(mountpoints.map((m) => path.posix.dirname(m)))) {
      if (mountpoints.includes(p) || p === '/') continue;
      const st = await fsp.stat(await resolveInRoot(req.rootfs, p)).catch(() => undefined);
      if (st?.isDirectory()) parents.push({ path: p, mode: st.mode, uid: st.uid, gid: st.gid });
    }
    await fsp.mkdir(req.bundleDir, { recursive: true });
    const etc = {
      hosts: path.join(req.bundleDir, 'hosts'),
      resolvConf: path.join(req.bundleDir, 'resolv.conf'),
      hostname: path.join(req.bundleDir, 'hostname'),
    };
    const hostLines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
    for (const h of req.extraHosts ?? []) {
      const { name, ip } = parseAddHost(h, DEFAULT_GATEWAY);
      hostLines.push(`${ip}\t${name}`);
    }
    hostLines.push(`127.0.1.1\t${hostname}`);
    await fsp.writeFile(etc.hosts, hostLines.join('\n') + '\n');
    await fsp.writeFile(etc.resolvConf, hostResolvConf());
    await fsp.writeFile(etc.hostname, `${hostname}\n`);

    const read = async (f: string) => {
      try {
        return await fsp.readFile(await resolveInRoot(req.rootfs, f), 'utf8');
      } catch {
        return undefined;
      }
    };
    const network: NetworkAttachment = req.network === 'none' ? { mode: 'new' } : { mode: 'host' };
    const passwd = await read('etc/passwd');
    const group = await read('etc/group');
    const spec = buildSpec(
      { Env: req.env, WorkingDir: req.workdir ?? '/', ...(req.user ? { User: req.user } : {}) },
      {
        ...req.spec,
        ...(req.cgroupParent ? { cgroupsPath: `/${req.cgroupParent.replace(/^\/+|\/+$/g, '')}/${req.id}` } : {}),
        rootfs: req.rootfs,
        command: req.argv,
        entrypoint: [],
        ...(passwd !== undefined ? { passwd } : {}),
        ...(group !== undefined ? { group } : {}),
        hostname,
        network,
        etcFiles: etc,
        hostMaskedPaths: hostMaskedPaths(),
        ...(req.mounts ? { mounts: req.mounts } : {}),
        ...(req.userns ? { idMap: req.userns.map, usernsPath: req.userns.path } : {}),
      },
    );
    // The build's environment is exactly the step's: no HOSTNAME added to what RUN sees beyond Docker's own.
    await fsp.writeFile(path.join(req.bundleDir, 'config.json'), JSON.stringify(spec));
    testPausePoint('build:before-run');
    const exitCode = await this.#runForeground(req);
    return { exitCode, mountpoints, parents };
  }

  #runForeground(req: RunStepRequest): Promise<number> {
    return new Promise((resolve, reject) => {
      if (req.signal?.aborted) return reject(new WharfError('CANCELLED', 'the build was interrupted'));
      const child = spawn(this.runc.binary, this.runc.args('run', '--bundle', req.bundleDir, req.id), {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let runcErr = '';
      let seen = false;
      child.stdout.on('data', (c: Buffer) => {
        req.stdout.write(c);
        if (!seen) {
          seen = true;
          testPausePoint('build:running'); // the step's first output: its process runs
        }
      });
      child.stderr.on('data', (c: Buffer) => {
        if (runcErr.length < 65536) runcErr += c.toString('utf8');
        req.stderr.write(c);
      });
      // Ctrl-C can come while runc is still creating the container, when there is nothing to kill yet: try again
      // until runc has exited.
      let closed = false;
      let retry: NodeJS.Timeout | undefined;
      const onAbort = () => {
        this.runc.kill(req.id, 'SIGKILL', { all: true }).catch(() => {
          if (!closed) retry = setTimeout(onAbort, 100);
        });
      };
      req.signal?.addEventListener('abort', onAbort, { once: true });
      child.on('error', (err) =>
        reject(new WharfError('UNAVAILABLE', `cannot run runc: ${err.message}`, { cause: err })),
      );
      child.on('close', (code, sig) => {
        closed = true;
        clearTimeout(retry);
        req.signal?.removeEventListener('abort', onAbort);
        this.runc.delete(req.id, { force: true }).catch(() => {});
        if (req.signal?.aborted) return reject(new WharfError('CANCELLED', 'the build was interrupted'));
        resolve(code ?? (sig ? 128 + 9 : 1));
      });
    });
  }
}

/**
 * Remove from an overlay upper dir what the runner created only to mount over (empty files and directories that did
 * not exist in the image), so the layer holds what the step itself changed.
 */
export async function removeMountpoints(
  upperDir: string,
  mountpoints: readonly string[],
  parents: readonly ParentDir[] = [],
): Promise<void> {
  for (const p of mountpoints) {
    const abs = path.join(upperDir, p);
    const st = await ifExists(fsp.lstat(abs));
    if (!st) continue;
    if (st.isDirectory()) {
      if ((await fsp.readdir(abs)).length === 0) await fsp.rmdir(abs);
    } else if (st.isFile() && st.size === 0) {
      await fsp.rm(abs);
    }
  }
  // A directory overlay copied up only because a mountpoint was made in it, and left as it was, is no change.
  for (const p of parents) {
    const abs = path.join(upperDir, p.path);
    const st = await fsp.lstat(abs).catch(() => undefined);
    if (!st?.isDirectory() || st.mode !== p.mode || st.uid !== p.uid || st.gid !== p.gid) continue;
    if ((await fsp.readdir(abs)).length > 0 || (await isOpaqueDir(abs))) continue;
    await fsp.rmdir(abs);
  }
}
