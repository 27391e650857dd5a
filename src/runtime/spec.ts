import * as path from 'node:path';
import { WharfError } from '../errors/index.js';
import { resolveCapabilities } from './capabilities.js';
import type { OciDeviceRule, OciMount, OciNamespace, OciProcess, OciResources, OciSpec } from './oci-spec.js';
import { applyResourceSpec, type ResourceSpecOptions } from './resources-spec.js';
import { defaultSeccomp, type OciSeccomp } from './seccomp.js';
import { resolveUser } from './user.js';
import { envKey, mergeEnv, resolveArgs, resolveEnv } from './process-env.js';
import type { IdMap } from '../util/index.js';

/** The `config` object of a Docker/OCI image config (only what running needs). */
export interface ImageRunConfig {
  User?: string;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  ExposedPorts?: Record<string, object> | null;
  StopSignal?: string;
  Labels?: Record<string, string> | null;
}

export type Propagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';

export type MountRequest =
  | {
      type: 'bind';
      source: string;
      destination: string;
      readOnly?: boolean;
      /** Default true (`rbind`), like Docker's `-v`. */
      recursive?: boolean;
      propagation?: Propagation;
    }
  | { type: 'tmpfs'; destination: string; size?: number; mode?: number; readOnly?: boolean; options?: string[] };

export type NetworkAttachment =
  | { mode: 'host' }
  /** A prepared namespace (bridge or none): the container joins it. */
  | { mode: 'netns'; path: string }
  /** A fresh namespace made by runc, which brings its loopback up (`--network none`). */
  | { mode: 'new' };

export interface SpecOptions {
  /** The root filesystem (absolute, or relative to the bundle directory). */
  rootfs: string;
  /** Replaces the image's Cmd (`docker run IMAGE CMD...`). */
  command?: string[];
  /** Replaces the image's Entrypoint (`--entrypoint`); `[]` or `['']` clears it. Also drops the image's Cmd. */
  entrypoint?: string[];
  /** `-e` values: `KEY=VALUE`, or `KEY` alone to take the value from `hostEnv` (dropped when unset there). */
  env?: string[];
  hostEnv?: Record<string, string | undefined>;
  workdir?: string;
  user?: string;
  groupAdd?: string[];
  /** Contents of the rootfs's /etc/passwd and /etc/group (undefined when missing). */
  passwd?: string;
  group?: string;
  hostname?: string;
  tty?: boolean;
  consoleSize?: { width: number; height: number };
  readOnly?: boolean;
  mounts?: MountRequest[];
  /** Host files bind-mounted over /etc/hosts, /etc/resolv.conf, /etc/hostname, as Docker does. */
  etcFiles?: { hosts?: string; resolvConf?: string; hostname?: string };
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  /** Bytes (`-m`). */
  memory?: number;
  /** Bytes of memory+swap (`--memory-swap`); -1 for unlimited. Left unset unless given (swap accounting may be off). */
  memorySwap?: number;
  /** `--cpus` (fractional CPUs → CFS quota over a 100ms period). */
  cpus?: number;
  cpuShares?: number;
  pidsLimit?: number;
  /** The other resource settings (cpu period/quota/realtime/cpuset, blkio, devices, ulimits, OOM): resources-spec.ts. */
  resources?: ResourceSpecOptions;
  /** Bytes of /dev/shm (default 64 MiB). */
  shmSize?: number;
  network: NetworkAttachment;
  /** Host path of a static init (tini) to run as PID 1 (`--init`); mounted at /sbin/docker-init. */
  init?: string;
  sysctls?: Record<string, string>;
  /** cgroup path for runc's cgroupfs driver, e.g. `/wharf/<id>`. */
  cgroupsPath?: string;
  annotations?: Record<string, string>;
  // ---- namespaces and security of `run` (issue 12) ----
  /** `--ipc`, `--pid`, `--uts`: a namespace of its own (default), the host's, or another process's (a path). */
  ipcNamespace?: NamespaceChoice;
  pidNamespace?: NamespaceChoice;
  utsNamespace?: NamespaceChoice;
  /** /dev/shm: a tmpfs of its own (default), none (`--ipc none`), or a bind of another one (`host`, `container:X`). */
  shm?: { none: true } | { bind: string };
  domainname?: string;
  noNewPrivileges?: boolean;
  /**
   * The seccomp filter: undefined for Docker's default profile (for the container's capabilities), 'unconfined' for
   * none. A privileged container has none either way, as under dockerd.
   */
  seccomp?: OciSeccomp | 'unconfined';
  apparmorProfile?: string;
  /** A user namespace of the container's own with these ranges (`--userns=auto`); the host's without. */
  idMap?: IdMap;
  /** The user namespace to join (made and held by Wharf, so that the network namespace can belong to it). */
  usernsPath?: string;
  /** `--security-opt systempaths=unconfined`: no masked or read-only paths. */
  unmaskPaths?: boolean;
  /** Masked besides MASKED_PATHS: what this host has of Docker's per-CPU ones (see hostMaskedPaths). */
  hostMaskedPaths?: string[];
}

export type NamespaceChoice = 'private' | 'host' | { path: string };

const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
const CFS_PERIOD = 100_000;

/** Docker's masked and read-only paths (moby oci/defaults.go). */
export const MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

function defaultMounts(opts: SpecOptions): OciMount[] {
  const shm = opts.shmSize ?? DEFAULT_SHM_SIZE;
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
  ];
  const sysRo = opts.privileged ? [] : ['ro'];
  // sysfs cannot be mounted from a network namespace the container does not own; Docker and podman bind the host's.
  if (opts.network.mode === 'host') {
    mounts.push({
      destination: '/sys',
      type: 'bind',
      source: '/sys',
      options: ['rbind', 'nosuid', 'noexec', 'nodev', ...sysRo],
    });
  } else {
    mounts.push({
      destination: '/sys',
      type: 'sysfs',
      source: 'sysfs',
      options: ['nosuid', 'noexec', 'nodev', ...sysRo],
    });
  }
  const shmMount: OciMount[] =
    opts.shm && 'none' in opts.shm
      ? []
      : opts.shm && 'bind' in opts.shm
        ? [{ destination: '/dev/shm', type: 'bind', source: opts.shm.bind, options: ['rbind', 'rprivate'] }]
        : [
            {
              destination: '/dev/shm',
              type: 'tmpfs',
              source: 'shm',
              options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shm}`],
            },
          ];
  mounts.push(
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      // As moby: in a user namespace runc cannot remount the cgroup mount read-only, so it is left rw there.
      options: ['nosuid', 'noexec', 'nodev', ...(opts.privileged || opts.idMap ? ['rw'] : ['ro'])],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    ...shmMount,
  );
  return mounts;
}

function checkDestination(dest: string): void {
  if (!path.posix.isAbsolute(dest)) {
    throw new WharfError('INVALID_ARGUMENT', `invalid mount destination "${dest}": must be an absolute path`);
  }
}

function userMount(m: MountRequest): OciMount {
  checkDestination(m.destination);
  if (m.type === 'bind') {
    if (!path.isAbsolute(m.source)) {
      throw new WharfError('INVALID_ARGUMENT', `invalid bind mount source "${m.source}": must be an absolute path`);
    }
    const options = [m.recursive === false ? 'bind' : 'rbind', m.readOnly ? 'ro' : 'rw'];
    options.push(m.propagation ?? 'rprivate');
    return { destination: m.destination, type: 'bind', source: m.source, options };
  }
  const options = ['nosuid', 'nodev', 'noexec', ...(m.options ?? [])];
  if (m.size !== undefined) options.push(`size=${m.size}`);
  if (m.mode !== undefined) options.push(`mode=${m.mode.toString(8)}`);
  if (m.readOnly) options.push('ro');
  return { destination: m.destination, type: 'tmpfs', source: 'tmpfs', options };
}

/**
 * Docker's device cgroup rules for a container that is not privileged (moby oci/defaults.go): deny all, allow the
 * character devices zero, null, urandom, random, tty and console, and deny
 * /dev/fuse explicitly. runc appends its own defaults (`c *:* m`, `b *:* m`, pts, ptmx) after these, for both engines.
 */
export const DOCKER_DEVICE_RULES: readonly OciDeviceRule[] = [
  { allow: false, access: 'rwm' },
  ...(
    [
      [1, 5],
      [1, 3],
      [1, 9],
      [1, 8],
      [5, 0],
      [5, 1],
    ] as const
  ).map(([major, minor]): OciDeviceRule => ({ allow: true, type: 'c', major, minor, access: 'rwm' })),
  { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' },
];

function resources(opts: SpecOptions): OciResources {
  const r: OciResources = {
    devices: opts.privileged ? [{ allow: true, access: 'rwm' }] : DOCKER_DEVICE_RULES.map((d) => ({ ...d })),
  };
  if (opts.memory !== undefined) {
    if (!Number.isSafeInteger(opts.memory) || opts.memory < 6 * 1024 * 1024) {
      throw new WharfError('INVALID_ARGUMENT', 'minimum memory limit allowed is 6MB');
    }
    r.memory = { limit: opts.memory };
    if (opts.memorySwap !== undefined) {
      if (opts.memorySwap !== -1 && opts.memorySwap < opts.memory) {
        throw new WharfError('INVALID_ARGUMENT', 'minimum memoryswap limit should be larger than memory limit');
      }
      r.memory.swap = opts.memorySwap;
    }
  }
  if (opts.cpus !== undefined || opts.cpuShares !== undefined) {
    r.cpu = {};
    if (opts.cpus !== undefined) {
      if (!(opts.cpus > 0))
        throw new WharfError('INVALID_ARGUMENT', `invalid --cpus value ${opts.cpus}: must be positive`);
      r.cpu.period = CFS_PERIOD;
      r.cpu.quota = Math.round(opts.cpus * CFS_PERIOD);
    }
    if (opts.cpuShares !== undefined) r.cpu.shares = opts.cpuShares;
  }
  if (opts.pidsLimit !== undefined && opts.pidsLimit > 0) r.pids = { limit: opts.pidsLimit };
  return r;
}

/** Build the OCI runtime spec (config.json) for one container. Pure: the caller reads /etc/passwd and /etc/group. */
export function buildSpec(image: ImageRunConfig, opts: SpecOptions): OciSpec {
  const user = resolveUser(opts.user ?? image.User, opts.passwd, opts.group, opts.groupAdd);
  let args = resolveArgs(image, opts);
  const cwd = opts.workdir !== undefined && opts.workdir !== '' ? opts.workdir : image.WorkingDir || '/';
  if (!path.posix.isAbsolute(cwd)) {
    throw new WharfError(
      'INVALID_ARGUMENT',
      `the working directory '${cwd}' is invalid, it needs to be an absolute path`,
    );
  }
  const caps = resolveCapabilities(opts.capAdd, opts.capDrop, opts.privileged);

  const mounts: OciMount[] = defaultMounts(opts);
  const etc = opts.etcFiles ?? {};
  const etcMounts: MountRequest[] = [];
  if (etc.resolvConf)
    etcMounts.push({ type: 'bind', source: etc.resolvConf, destination: '/etc/resolv.conf', recursive: false });
  if (etc.hostname)
    etcMounts.push({ type: 'bind', source: etc.hostname, destination: '/etc/hostname', recursive: false });
  if (etc.hosts) etcMounts.push({ type: 'bind', source: etc.hosts, destination: '/etc/hosts', recursive: false });
  const requested = [...etcMounts, ...(opts.mounts ?? [])].map(userMount);
  if (opts.init) {
    requested.push({
      destination: '/sbin/docker-init',
      type: 'bind',
      source: opts.init,
      options: ['bind', 'ro', 'rprivate'],
    });
    args = ['/sbin/docker-init', '--', ...args];
  }
  // A user mount replaces a default one at the same place (e.g. a bigger /dev/shm), as in Docker.
  const taken = new Set(requested.map((m) => path.posix.normalize(m.destination)));
  const all = [...mounts.filter((m) => !taken.has(m.destination)), ...requested];

  const namespaces: OciNamespace[] = [
    ...namespace('pid', opts.pidNamespace),
    ...namespace('ipc', opts.ipcNamespace),
    ...namespace('uts', opts.utsNamespace),
    { type: 'mount' },
  ];
  if (opts.network.mode === 'netns') namespaces.push({ type: 'network', path: opts.network.path });
  else if (opts.network.mode === 'new') namespaces.push({ type: 'network' });
  if (opts.idMap) namespaces.push({ type: 'user', ...(opts.usernsPath ? { path: opts.usernsPath } : {}) });

  const proc: OciProcess = {
    terminal: opts.tty === true,
    user: {
      uid: user.uid,
      gid: user.gid,
      ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}),
    },
    args,
    env: resolveEnv(image, opts, user.home),
    cwd,
    capabilities: { bounding: caps, effective: caps, permitted: caps },
    noNewPrivileges: opts.noNewPrivileges === true,
  };
  if (opts.apparmorProfile) proc.apparmorProfile = opts.apparmorProfile;
  if (opts.tty && opts.consoleSize) proc.consoleSize = { ...opts.consoleSize };

  const spec: OciSpec = {
    ociVersion: '1.0.2',
    process: proc,
    root: { path: opts.rootfs, readonly: opts.readOnly === true },
    mounts: all,
    linux: {
      namespaces,
      resources: resources(opts),
      maskedPaths: opts.privileged || opts.unmaskPaths ? [] : [...MASKED_PATHS, ...(opts.hostMaskedPaths ?? [])],
      readonlyPaths: opts.privileged || opts.unmaskPaths ? [] : [...READONLY_PATHS],
    },
  };
  // runc sets a host name only in a UTS namespace of the container's own.
  const ownUts = opts.utsNamespace === undefined || opts.utsNamespace === 'private';
  if (opts.hostname !== undefined && ownUts) spec.hostname = opts.hostname;
  if (!opts.privileged && opts.seccomp !== 'unconfined') spec.linux.seccomp = opts.seccomp ?? defaultSeccomp(caps);
  if (opts.cgroupsPath) spec.linux.cgroupsPath = opts.cgroupsPath;
  if (opts.idMap) {
    spec.linux.uidMappings = opts.idMap.uid.map((m) => ({ ...m }));
    spec.linux.gidMappings = opts.idMap.gid.map((m) => ({ ...m }));
  }
  // Docker 20.10+ lets unprivileged users bind low ports and ping inside a container's own network namespace.
  const sysctl: Record<string, string> =
    opts.network.mode === 'host'
      ? {}
      : { 'net.ipv4.ip_unprivileged_port_start': '0', 'net.ipv4.ping_group_range': pingGroups(opts.idMap) };
  // As moby does: runc before 1.2 ignores the spec's domainname; the UTS namespace's sysctl sets it everywhere.
  if (opts.domainname && ownUts) sysctl['kernel.domainname'] = opts.domainname;
  Object.assign(sysctl, opts.sysctls);
  if (Object.keys(sysctl).length) spec.linux.sysctl = sysctl;
  if (opts.annotations && Object.keys(opts.annotations).length) spec.annotations = { ...opts.annotations };
  if (opts.resources) applyResourceSpec(spec, opts.resources, opts.privileged === true);
  return spec;
}

/** Every group may ping: all gids, or in a user namespace its mapped ones (the kernel refuses others there). */
function pingGroups(map: IdMap | undefined): string {
  if (!map) return '0 2147483647';
  const top = Math.max(...map.gid.map((m) => m.containerID + m.size - 1));
  return `0 ${Math.min(top, 2147483647)}`;
}

/** The namespace entry for a choice: none for the host's, one with a path to join another's. */
function namespace(type: 'pid' | 'ipc' | 'uts', choice: NamespaceChoice | undefined): OciNamespace[] {
  if (choice === 'host') return [];
  if (choice === undefined || choice === 'private') return [{ type }];
  return [{ type, path: choice.path }];
}

export interface ExecOptions {
  args: string[];
  env?: string[];
  user?: string;
  groupAdd?: string[];
  passwd?: string;
  group?: string;
  workdir?: string;
  tty?: boolean;
  consoleSize?: { width: number; height: number };
  privileged?: boolean;
}

/**
 * The process.json for `runc exec` (`docker exec`): the container's process with a new argv, its env plus `-e`,
 * and optionally another user/workdir.
 */
export function buildExecProcess(base: OciProcess, opts: ExecOptions): OciProcess {
  if (opts.args.length === 0) throw new WharfError('INVALID_ARGUMENT', 'no command specified for exec');
  let user = base.user;
  let env = mergeEnv(base.env, opts.env ?? []);
  if (opts.user !== undefined && opts.user !== '') {
    const u = resolveUser(opts.user, opts.passwd, opts.group, opts.groupAdd);
    user = { uid: u.uid, gid: u.gid, ...(u.additionalGids.length ? { additionalGids: u.additionalGids } : {}) };
    env = mergeEnv(
      env.filter((e) => envKey(e) !== 'HOME'),
      opts.env ?? [],
    );
    if (!env.some((e) => envKey(e) === 'HOME')) env.push(`HOME=${u.home}`);
  }
  if (opts.tty && !env.some((e) => envKey(e) === 'TERM')) env.push('TERM=xterm');
  const cwd = opts.workdir || base.cwd;
  if (!path.posix.isAbsolute(cwd)) {
    throw new WharfError(
      'INVALID_ARGUMENT',
      `the working directory '${cwd}' is invalid, it needs to be an absolute path`,
    );
  }
  const caps = opts.privileged ? resolveCapabilities([], [], true) : undefined;
  const proc: OciProcess = {
    ...base,
    terminal: opts.tty === true,
    user,
    args: [...opts.args],
    env,
    cwd,
  };
  delete proc.consoleSize;
  if (opts.tty && opts.consoleSize) proc.consoleSize = { ...opts.consoleSize };
  if (caps) proc.capabilities = { bounding: caps, effective: caps, permitted: caps };
  return proc;
}
