import type { EndpointAddressing } from './create-checks.js';
import type { Digest } from '../digest/index.js';
import type { NetworkMode, NetworkSetup, PortMapping } from '../network/index.js';
import type { ContainerConfig } from '../oci/index.js';
import type { ResourceConfig } from './resources.js';
import type { RestartPolicy } from './restart-policy.js';
import type { HealthState } from '../runtime/index.js';
import type { IdMap } from '../util/index.js';

/** A volume or bind mount as the container record keeps it (Docker's `Mounts` entries). */
export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs';
  /** Volume name (type volume). */
  Name?: string;
  /** Host path: the bind source or the volume's `_data` dir. */
  Source: string;
  Destination: string;
  RW: boolean;
  /** Mount options in Docker's `-v` notation ('ro', 'z', …) for display. */
  Mode: string;
  Propagation: string;
  /** Anonymous volumes are removed with `rm -v` and `--rm`. */
  Anonymous?: boolean;
  /** tmpfs size in bytes. */
  TmpfsSize?: number;
}

/**
 * What `create`/`run` was asked for beyond the image config (Docker's HostConfig, the parts Wharf honours). The
 * resource fields (resources.ts) are optional: records made before them lack them (`resourcesOf` fills defaults).
 */
export interface HostConfig extends Partial<ResourceConfig> {
  Binds: string[];
  NetworkMode: NetworkMode;
  PortBindings: PortMapping[];
  PublishAllPorts: boolean;
  AutoRemove: boolean;
  Privileged: boolean;
  ReadonlyRootfs: boolean;
  CapAdd: string[];
  CapDrop: string[];
  /** Bytes; 0 = unlimited. */
  Memory: number;
  NanoCpus: number;
  Init: boolean;
  VolumesFrom: string[];
  ExtraHosts: string[];
  Dns: string[];
  ShmSize: number;
  /** `--restart`; records made before restart policies have none (Docker's 'no'). */
  RestartPolicy?: RestartPolicy;
  // ---- namespaces, security, DNS and logging of `run` (issue 12); absent on records made before them ----
  /** private (the default), shareable, host, none, container:X. */
  IpcMode?: string;
  /** '' (own namespace), host, container:X. */
  PidMode?: string;
  /** '' or host. */
  UTSMode?: string;
  /** '' or host (Wharf runs no user namespaces). */
  UsernsMode?: string;
  Sysctls?: Record<string, string>;
  /** `--tmpfs`: destination → mount options. */
  Tmpfs?: Record<string, string>;
  GroupAdd?: string[];
  ContainerIDFile?: string;
  DnsSearch?: string[];
  DnsOptions?: string[];
  /** As given (a seccomp profile as its JSON text), plus dockerd's `label=disable` for host PID/IPC. */
  SecurityOpt?: string[];
  /** `--runtime` (runc) and `--volume-driver` (local), as inspect shows them. */
  Runtime?: string;
  VolumeDriver?: string;
  /** `--link`s as Docker records them: `/target:/container/alias`. */
  Links?: string[];
  /** `--ip`/`--ip6`/`--link-local-ip` (Docker's endpoint IPAMConfig). */
  Addressing?: EndpointAddressing;
  LogConfig?: { Type: string; Config: Record<string, string> };
  Annotations?: Record<string, string>;
}

/** A container's settings on one user-defined network (Docker's EndpointSettings as configured). */
export interface EndpointConfig {
  NetworkID: string;
  Aliases?: string[];
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string };
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** The persisted run state; `running` is only a claim, checked against the monitor and runc when read. */
export interface RunState {
  status: 'created' | 'running' | 'exited';
  paused?: boolean;
  pid?: number;
  monitorPid?: number;
  exitCode: number;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
  oomKilled?: boolean;
}

export interface ContainerRecord {
  id: string;
  name: string;
  imageId: Digest;
  /** The image as the user named it (ps shows it). */
  imageName: string;
  created: string;
  /** Docker's container Config (image config merged with the run options). */
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** argv[0] and the rest, resolved from Entrypoint + Cmd. */
  path: string;
  args: string[];
  mounts: MountPoint[];
  /** A remapped container's user namespace (`--userns=auto`): its uid and gid ranges on the host (userns.ts). */
  idMap?: IdMap;
  state: RunState;
  /**
   * The user-defined networks the container is on, by name (Docker's NetworkSettings.Networks as configured):
   * set by create on a user network and by connect/disconnect; the endpoints are made at each start.
   */
  networks?: Record<string, EndpointConfig>;
  /** The network while the container runs (released at exit). */
  network?: NetworkSetup;
  /** Restarts by the monitor since the last start (the monitor's own count while it runs: see ObservedContainer). */
  restartCount: number;
  /**
   * Docker's HasBeenManuallyStopped: `stop` or `kill` was used on the container; an `unless-stopped` container stays
   * down at `system restore`. `start` clears it.
   */
  manuallyStopped?: boolean;
}

/** A container with its state reconciled against the monitor and runc. */
export interface ObservedContainer extends ContainerRecord {
  status: ContainerStatus;
  running: boolean;
  /** The health check's status and last results (Docker's State.Health), once a container with a check started. */
  health?: HealthState;
}
