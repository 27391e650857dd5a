/**
 * The Config and HostConfig that `create` records, from the request and the image's config: Docker's merge rules
 * (the request wins, the image fills the rest) with nothing checked here — create's checks run before this, and
 * nothing here can fail.
 */
import type { ContainerConfig, HealthConfig } from '../oci/index.js';
import { containerConfigEnv } from '../runtime/index.js';
import type { NetworkMode, PortMapping } from '../network/index.js';
import type { CreateOptions } from './create-options.js';
import { linkEntry, type EndpointAddressing } from './create-checks.js';
import type { RestartPolicy } from './restart-policy.js';
import type { HostConfig } from './types.js';

/** What `create` worked out before building the records. */
export interface CreateFacts {
  image: ContainerConfig;
  hostname: string;
  /** The `--entrypoint` as argv: undefined when not given, [] for `--entrypoint ''`. */
  entrypoint: string[] | undefined;
  healthcheck: HealthConfig | undefined;
  ports: PortMapping[];
}

/** The container's Config, as dockerd records it. */
export function containerConfigOf(opts: CreateOptions, f: CreateFacts): ContainerConfig {
  const ic = f.image;
  const userEnv = opts.env ?? [];
  const exposed: Record<string, object> = { ...(ic.ExposedPorts ?? {}) };
  for (const p of f.ports) exposed[`${p.containerPort}/${p.protocol}`] = {};
  for (const e of opts.expose ?? []) exposed[e] = {};
  const attachStdin = opts.openStdin === true && opts.attachStdin !== false;
  return {
    Hostname: f.hostname,
    Domainname: opts.domainname ?? '',
    User: opts.user ?? ic.User ?? '',
    AttachStdin: attachStdin,
    AttachStdout: opts.attachStdout ?? true,
    AttachStderr: opts.attachStderr ?? true,
    ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
    Tty: opts.tty === true,
    OpenStdin: opts.openStdin === true,
    StdinOnce: attachStdin,
    // Docker's daemon takes the image's Env as it is when no -e is given: null (left out) for an image without one.
    ...(userEnv.length > 0 ? { Env: containerConfigEnv(ic.Env ?? [], userEnv) } : ic.Env ? { Env: ic.Env } : {}),
    Cmd: opts.command && opts.command.length > 0 ? opts.command : f.entrypoint !== undefined ? [] : (ic.Cmd ?? null),
    ...(f.healthcheck ? { Healthcheck: f.healthcheck } : {}),
    Image: opts.image,
    ...(ic.Volumes ? { Volumes: ic.Volumes } : {}),
    WorkingDir: opts.workdir ?? ic.WorkingDir ?? '',
    Entrypoint: f.entrypoint ?? ic.Entrypoint ?? null,
    OnBuild: ic.OnBuild ?? null,
    Labels: { ...(ic.Labels ?? {}), ...(opts.labels ?? {}) },
    ...(opts.stopSignal || ic.StopSignal ? { StopSignal: opts.stopSignal || ic.StopSignal } : {}),
    ...(opts.stopTimeout !== undefined ? { StopTimeout: opts.stopTimeout } : {}),
    ...(opts.macAddress ? { MacAddress: opts.macAddress } : {}),
  };
}

/** What the HostConfig takes beyond the request: the checked values create worked out. */
export interface HostFacts {
  network: NetworkMode;
  ports: PortMapping[];
  name: string;
  linked: Array<{ target: string; alias: string }>;
  addressing: EndpointAddressing;
  runtime: string;
  restartPolicy: RestartPolicy;
  /** The run modes (IPC, PID, UTS, user namespace, tmpfs, security options…) from hostConfigRunModes. */
  modes: Partial<HostConfig>;
}

/** The container's HostConfig, before the resource settings are added. */
export function hostConfigOf(opts: CreateOptions, f: HostFacts): HostConfig {
  return {
    Binds: opts.volumes ?? [],
    NetworkMode: f.network,
    PortBindings: f.ports,
    PublishAllPorts: opts.publishAll === true,
    AutoRemove: opts.autoRemove === true,
    Privileged: opts.privileged === true,
    ReadonlyRootfs: opts.readOnly === true,
    CapAdd: opts.capAdd ?? [],
    CapDrop: opts.capDrop ?? [],
    Memory: opts.memory ?? 0,
    NanoCpus: opts.cpus ? Math.round(opts.cpus * 1e9) : 0,
    Init: opts.init === true,
    VolumesFrom: opts.volumesFrom ?? [],
    ExtraHosts: opts.extraHosts ?? [],
    ...(f.linked.length ? { Links: f.linked.map((l) => linkEntry(l.target, f.name, l.alias)) } : {}),
    ...(Object.keys(f.addressing).length ? { Addressing: f.addressing } : {}),
    Dns: opts.dns ?? [],
    ShmSize: opts.shmSize ?? 64 * 1024 * 1024,
    Runtime: f.runtime,
    ...(opts.volumeDriver ? { VolumeDriver: opts.volumeDriver } : {}),
    RestartPolicy: f.restartPolicy,
    ...f.modes,
  };
}
