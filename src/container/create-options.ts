import type { NetworkMode } from '../network/index.js';
import type { HealthConfig } from '../oci/index.js';
import type { ResourceConfig } from './resources.js';

/** What `ContainerService.create` takes: Docker's run/create options, as the CLI and the Engine API give them. */
export interface CreateOptions {
  /** Image name or ID. */
  image: string;
  /** The container's ID (64 hex); a new random one by default. A failed build step's container keeps the build's. */
  id?: string;
  name?: string;
  /** COMMAND ARG… after the image. */
  command?: string[];
  /** `--entrypoint`; '' clears the image's. */
  entrypoint?: string;
  /** KEY=VALUE entries (the CLI fills a bare `-e NAME` from its own environment; the library reads none). */
  env?: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  labels?: Record<string, string>;
  /** `-v` specs. */
  volumes?: string[];
  /** `--mount` specs. */
  mounts?: string[];
  volumesFrom?: string[];
  /** `-p` specs. */
  publish?: string[];
  publishAll?: boolean;
  /** bridge (default), host, none, or a user-defined network's name or ID. */
  network?: NetworkMode;
  /** `--network-alias`: names the container also answers to on its user-defined network. */
  networkAliases?: string[];
  tty?: boolean;
  openStdin?: boolean;
  /**
   * The client that runs the container attaches its stdin, and the container's stdin closes when that client goes
   * (Docker's AttachStdin and StdinOnce; default: `openStdin`). `run -d -i` sets it false, as the docker CLI does, so
   * a later `attach` that disconnects leaves the stdin open.
   */
  attachStdin?: boolean;
  readOnly?: boolean;
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  /** Bytes. */
  memory?: number;
  cpus?: number;
  init?: boolean;
  autoRemove?: boolean;
  extraHosts?: string[];
  dns?: string[];
  stopSignal?: string;
  shmSize?: number;
  /** Resource settings in Docker's HostConfig names (`CpuShares`, `CpusetCpus`, `Devices`, `Ulimits`, …). */
  resources?: Partial<ResourceConfig>;
  /** `--restart` (parseRestartPolicy reads the CLI's text); checked as Docker's daemon checks it. Default 'no'. */
  restartPolicy?: { Name: string; MaximumRetryCount: number };
  /** The user's health check (`--health-*`, `--no-healthcheck`: healthConfigFromFlags), merged with the image's. */
  healthcheck?: HealthConfig;
  // ---- namespaces, security, DNS, logging and stdio of `run` (issue 12) ----
  /** `--ipc`: private (default), shareable, host, none, container:X. */
  ipc?: string;
  /** `--pid`: host, container:X. */
  pid?: string;
  /** `--uts host`. */
  uts?: string;
  /**
   * `--userns`: '' (the engine's default: the host's namespace, or `auto` under `userns-remap`), `host`, or
   * `auto[:size=N]`: a user namespace with a fresh range of subordinate ids (docs/security.md).
   */
  userns?: string;
  sysctls?: Record<string, string>;
  /** `--tmpfs`: destination → options. */
  tmpfs?: Record<string, string>;
  groupAdd?: string[];
  /** Seconds `stop` waits by default. */
  stopTimeout?: number;
  /** Recorded as HostConfig.ContainerIDFile; the caller writes the file. */
  cidfile?: string;
  dnsSearch?: string[];
  dnsOptions?: string[];
  macAddress?: string;
  domainname?: string;
  /** ExposedPorts keys (`80/tcp`) beyond the image's (`--expose`). */
  expose?: string[];
  annotations?: Record<string, string>;
  /** `--security-opt` as the docker CLI passes it (a seccomp profile as its JSON text). */
  securityOpt?: string[];
  logDriver?: string;
  logOpts?: Record<string, string>;
  /** Which streams the creating client attaches (Docker's AttachStdout/AttachStderr; default both, none with -d). */
  attachStdout?: boolean;
  attachStderr?: boolean;
  /** `--runtime`: only `runc` (create-checks.ts). */
  runtime?: string;
  /** `--storage-opt` key=value pairs: refused as dockerd's overlay2 refuses them without project quotas. */
  storageOpt?: Record<string, string>;
  /** `--volume-driver`: the driver of the volumes `-v` and the image's VOLUMEs create; only `local`. */
  volumeDriver?: string;
  /** `--link NAME[:ALIAS]` as given. */
  links?: string[];
  /** `--ip`, `--ip6`, `--link-local-ip`: refused when the container starts on a predefined network, as by dockerd. */
  ipv4Address?: string;
  ipv6Address?: string;
  linkLocalIPs?: string[];
}
