/**
 * A container's resource settings as Docker's HostConfig names them (`CpuShares`, `CpusetCpus`, `BlkioWeightDevice`,
 * `Devices`, `Ulimits`, …): their defaults for records made before they existed, the daemon's checks with its
 * messages (moby daemon/daemon_unix.go verifyPlatformContainerResources, against what this host's cgroups offer), and
 * `docker update`'s merge rules. Pure: the host's facts come in as `HostResources` (host-resources.ts reads them).
 */
import { WharfError } from '../errors/index.js';

export interface WeightDevice {
  Path: string;
  Weight: number;
}

export interface ThrottleDevice {
  Path: string;
  Rate: number;
}

export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

export interface Ulimit {
  Name: string;
  Hard: number;
  Soft: number;
}

/** The resource fields of Docker's HostConfig beyond Memory, NanoCpus and ShmSize (which HostConfig always had). */
export interface ResourceConfig {
  CpuShares: number;
  CpuPeriod: number;
  CpuQuota: number;
  CpuRealtimePeriod: number;
  CpuRealtimeRuntime: number;
  CpusetCpus: string;
  CpusetMems: string;
  MemoryReservation: number;
  /** Bytes of memory+swap; -1 unlimited; 0 unset. */
  MemorySwap: number;
  /** null: the kernel's default. */
  MemorySwappiness: number | null;
  /** null: unlimited. */
  PidsLimit: number | null;
  BlkioWeight: number;
  BlkioWeightDevice: WeightDevice[];
  BlkioDeviceReadBps: ThrottleDevice[];
  BlkioDeviceWriteBps: ThrottleDevice[];
  BlkioDeviceReadIOps: ThrottleDevice[];
  BlkioDeviceWriteIOps: ThrottleDevice[];
  Devices: DeviceMapping[];
  DeviceCgroupRules: string[] | null;
  Ulimits: Ulimit[];
  OomKillDisable: boolean;
  OomScoreAdj: number;
  CgroupParent: string;
  CgroupnsMode: 'host' | 'private';
}

/** What this host's cgroups and CPUs offer (moby's sysinfo). */
export interface HostResources {
  ncpu: number;
  /** cpuset.cpus / cpuset.mems of the root cgroup, e.g. `0-1`, `0`. */
  cpus: string;
  mems: string;
  cgroupVersion: 1 | 2;
  swapLimit: boolean;
  memoryReservation: boolean;
  swappiness: boolean;
  oomKillDisable: boolean;
  cpuCfs: boolean;
  cpuRealtime: boolean;
  blkioWeight: boolean;
  blkioWeightDevice: boolean;
  blkioThrottle: boolean;
  pids: boolean;
}

export const MIN_MEMORY = 6 * 1024 * 1024;

/** A record's resource settings, with Docker's defaults for fields it was made without. */
export function resourcesOf(hc: Partial<ResourceConfig>): ResourceConfig {
  return {
    CpuShares: hc.CpuShares ?? 0,
    CpuPeriod: hc.CpuPeriod ?? 0,
    CpuQuota: hc.CpuQuota ?? 0,
    CpuRealtimePeriod: hc.CpuRealtimePeriod ?? 0,
    CpuRealtimeRuntime: hc.CpuRealtimeRuntime ?? 0,
    CpusetCpus: hc.CpusetCpus ?? '',
    CpusetMems: hc.CpusetMems ?? '',
    MemoryReservation: hc.MemoryReservation ?? 0,
    MemorySwap: hc.MemorySwap ?? 0,
    MemorySwappiness: hc.MemorySwappiness ?? null,
    PidsLimit: hc.PidsLimit ?? null,
    BlkioWeight: hc.BlkioWeight ?? 0,
    BlkioWeightDevice: hc.BlkioWeightDevice ?? [],
    BlkioDeviceReadBps: hc.BlkioDeviceReadBps ?? [],
    BlkioDeviceWriteBps: hc.BlkioDeviceWriteBps ?? [],
    BlkioDeviceReadIOps: hc.BlkioDeviceReadIOps ?? [],
    BlkioDeviceWriteIOps: hc.BlkioDeviceWriteIOps ?? [],
    Devices: hc.Devices ?? [],
    DeviceCgroupRules: hc.DeviceCgroupRules ?? null,
    Ulimits: hc.Ulimits ?? [],
    OomKillDisable: hc.OomKillDisable ?? false,
    OomScoreAdj: hc.OomScoreAdj ?? 0,
    CgroupParent: hc.CgroupParent ?? '',
    CgroupnsMode: hc.CgroupnsMode ?? 'host',
  };
}

const invalid = (msg: string): WharfError => new WharfError('INVALID_ARGUMENT', msg);

/** Go's cpuset list syntax (`0-3,5`) → the set of numbers; undefined when malformed. */
export function parseCpuset(list: string): Set<number> | undefined {
  const out = new Set<number>();
  if (list === '') return out;
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    if (hi < lo || hi - lo > 8192) return undefined;
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return out;
}

function checkCpuset(value: string, available: string, what: 'cpus' | 'mems'): void {
  if (value === '') return;
  const want = parseCpuset(value);
  if (!want) throw invalid(`Invalid value ${value} for cpuset ${what}: invalid format: ${value}`);
  const have = parseCpuset(available) ?? new Set<number>();
  if ([...want].some((n) => !have.has(n))) {
    const noun = what === 'cpus' ? 'CPUs' : 'memory nodes';
    throw invalid(`Requested ${noun} are not available - requested ${value}, available: ${available}`);
  }
}

/** The settings `create` and `update` check together: Docker's HostConfig resource part with Memory and NanoCpus. */
export type Resources = ResourceConfig & { Memory: number; NanoCpus: number };

/**
 * The daemon's checks, in its order and with its messages. Returns Docker's warnings; settings this host cannot
 * apply are discarded in `r` as Docker discards them (blkio weight without the weight files, swap without swap
 * accounting). Fills Docker's implied values: `MemorySwap` twice `Memory` when unset and swap is limited.
 */
export function checkResources(r: Resources, host: HostResources, opts: { update?: boolean } = {}): string[] {
  const warnings: string[] = [];
  if (r.Memory !== 0 && r.Memory < MIN_MEMORY) throw invalid('Minimum memory limit allowed is 6MB');
  if (r.Memory > 0 && r.MemorySwap !== 0 && r.MemorySwap !== -1 && !host.swapLimit) {
    warnings.push(
      'Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.',
    );
    r.MemorySwap = -1;
  }
  if (r.Memory > 0 && r.MemorySwap > 0 && r.MemorySwap < r.Memory)
    throw invalid('Minimum memoryswap limit should be larger than memory limit, see usage');
  if (r.Memory === 0 && r.MemorySwap > 0 && !opts.update)
    throw invalid('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (r.MemorySwappiness !== null && r.MemorySwappiness !== -1 && !host.swappiness) {
    warnings.push(
      'Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.',
    );
    r.MemorySwappiness = null;
  }
  if (r.MemorySwappiness === -1) r.MemorySwappiness = null;
  if (r.MemoryReservation > 0 && !host.memoryReservation) {
    warnings.push(
      'Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.',
    );
    r.MemoryReservation = 0;
  }
  if (r.MemoryReservation > 0 && r.MemoryReservation < MIN_MEMORY)
    throw invalid('Minimum memory reservation allowed is 6MB');
  if (r.Memory > 0 && r.MemoryReservation > 0 && r.Memory < r.MemoryReservation)
    throw invalid('Minimum memory limit can not be less than memory reservation limit, see usage');
  if (r.OomKillDisable && !host.oomKillDisable) {
    warnings.push('Your kernel does not support OomKillDisable. OomKillDisable discarded.');
    r.OomKillDisable = false;
  }
  if (r.OomKillDisable && r.Memory === 0)
    warnings.push(
      'OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.',
    );
  if (r.PidsLimit !== null && r.PidsLimit <= 0) r.PidsLimit = null;
  if (r.PidsLimit !== null && !host.pids) {
    warnings.push(
      'Your kernel does not support pids limit capabilities or the cgroup is not mounted. PIDs limit discarded.',
    );
    r.PidsLimit = null;
  }

  // CPU
  if (r.NanoCpus > 0 && r.CpuPeriod > 0)
    throw invalid('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (r.NanoCpus > 0 && r.CpuQuota > 0)
    throw invalid('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (r.NanoCpus < 0 || r.NanoCpus > host.ncpu * 1e9) {
    throw invalid(
      `Range of CPUs is from 0.01 to ${host.ncpu.toFixed(2)}, as there are only ${host.ncpu} CPUs available`,
    );
  }
  if ((r.CpuPeriod !== 0 || r.CpuQuota !== 0) && !host.cpuCfs) {
    warnings.push('Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.');
    r.CpuPeriod = 0;
    r.CpuQuota = 0;
  }
  if (r.CpuPeriod !== 0 && (r.CpuPeriod < 1000 || r.CpuPeriod > 1_000_000))
    throw invalid('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  if (r.CpuQuota > 0 && r.CpuQuota < 1000) throw invalid('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  if ((r.CpuRealtimePeriod !== 0 || r.CpuRealtimeRuntime !== 0) && !host.cpuRealtime)
    throw invalid('Your kernel does not support CPU real-time scheduler');
  if (r.CpuRealtimePeriod !== 0 && r.CpuRealtimeRuntime !== 0 && r.CpuRealtimeRuntime > r.CpuRealtimePeriod)
    throw invalid('cpu real-time runtime cannot be higher than cpu real-time period');
  checkCpuset(r.CpusetCpus, host.cpus, 'cpus');
  checkCpuset(r.CpusetMems, host.mems, 'mems');

  // Block I/O
  if (r.BlkioWeight > 0 && !host.blkioWeight) {
    warnings.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
    r.BlkioWeight = 0;
  }
  if (r.BlkioWeight > 0 && (r.BlkioWeight < 10 || r.BlkioWeight > 1000))
    throw invalid('Range of blkio weight is from 10 to 1000');
  if (r.BlkioWeightDevice.length > 0 && !host.blkioWeightDevice) {
    warnings.push(
      'Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.',
    );
    r.BlkioWeightDevice = [];
  }
  const throttles = [
    ['BlkioDeviceReadBps', 'BPS Block I/O read limit', 'Block I/O BPS read limit'],
    ['BlkioDeviceWriteBps', 'BPS Block I/O write limit', 'Block I/O BPS write limit'],
    ['BlkioDeviceReadIOps', 'IOPS Block read limit', 'Block I/O IOPS read limit'],
    ['BlkioDeviceWriteIOps', 'IOPS Block write limit', 'Block I/O IOPS write limit'],
  ] as const;
  for (const [k, what, limit] of throttles) {
    if (r[k].length > 0 && !host.blkioThrottle) {
      warnings.push(`Your kernel does not support ${what} or the cgroup is not mounted. ${limit} discarded.`);
      r[k] = [];
    }
  }
  if (r.OomScoreAdj < -1000 || r.OomScoreAdj > 1000)
    throw invalid(`Invalid value ${r.OomScoreAdj}, range for oom score adj is [-1000, 1000]`);
  // Docker's adaptContainerSettings: swap defaults to the memory limit again (memory+swap = 2×memory).
  if (!opts.update && r.Memory > 0 && r.MemorySwap === 0 && host.swapLimit) r.MemorySwap = r.Memory * 2;
  return warnings;
}

/** What `docker update` may change (its flags), in Docker's HostConfig names; an absent field stays as it is. */
export type ResourceUpdate = Partial<
  Pick<
    Resources,
    | 'BlkioWeight'
    | 'CpuShares'
    | 'NanoCpus'
    | 'CpuPeriod'
    | 'CpuQuota'
    | 'CpuRealtimePeriod'
    | 'CpuRealtimeRuntime'
    | 'CpusetCpus'
    | 'CpusetMems'
    | 'Memory'
    | 'MemorySwap'
    | 'MemoryReservation'
    | 'PidsLimit'
  >
>;

/**
 * `docker update`'s merge (moby container/container.go UpdateContainer, daemon/update.go): zero means unchanged,
 * NanoCpus and an explicit period/quota exclude each other across updates, and a memory limit above the recorded
 * swap limit needs a new swap limit with it. Returns the merged settings (the input is not changed).
 */
export function mergeResourceUpdate(cur: Resources, u: ResourceUpdate, id = ''): Resources {
  const conflict = (msg: string) => new WharfError('CONFLICT', `Conflicting options: ${msg}`);
  if ((u.NanoCpus ?? 0) > 0 && cur.CpuPeriod > 0)
    throw conflict('CPU Period cannot be updated as NanoCPUs has already been set');
  if ((u.NanoCpus ?? 0) > 0 && cur.CpuQuota > 0)
    throw conflict('CPU Quota cannot be updated as NanoCPUs has already been set');
  if ((u.CpuPeriod ?? 0) > 0 && cur.NanoCpus > 0)
    throw conflict('NanoCPUs cannot be updated as CPU Period has already been set');
  if ((u.CpuQuota ?? 0) > 0 && cur.NanoCpus > 0)
    throw conflict('NanoCPUs cannot be updated as CPU Quota has already been set');
  const next: Resources = { ...cur };
  const numeric = [
    'BlkioWeight',
    'CpuShares',
    'NanoCpus',
    'CpuPeriod',
    'CpuQuota',
    'CpuRealtimePeriod',
    'CpuRealtimeRuntime',
    'Memory',
    'MemorySwap',
    'MemoryReservation',
  ] as const;
  for (const k of numeric) {
    const v = u[k];
    if (v !== undefined && v !== 0) next[k] = v;
  }
  if (u.CpusetCpus) next.CpusetCpus = u.CpusetCpus;
  if (u.CpusetMems) next.CpusetMems = u.CpusetMems;
  if (u.PidsLimit !== undefined) next.PidsLimit = u.PidsLimit !== null && u.PidsLimit > 0 ? u.PidsLimit : null;
  if (u.Memory && !u.MemorySwap && cur.MemorySwap > 0 && u.Memory > cur.MemorySwap) {
    throw invalid(
      `Cannot update container ${id}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time`,
    );
  }
  return next;
}

/** The resource fields of `inspect`'s HostConfig, in Docker's order (after Memory and NanoCpus). */
export function inspectResources(hc: Partial<ResourceConfig>): Record<string, unknown> {
  const r = resourcesOf(hc);
  return {
    CgroupnsMode: r.CgroupnsMode,
    OomScoreAdj: r.OomScoreAdj,
    CpuShares: r.CpuShares,
    CgroupParent: r.CgroupParent,
    BlkioWeight: r.BlkioWeight,
    BlkioWeightDevice: r.BlkioWeightDevice,
    BlkioDeviceReadBps: r.BlkioDeviceReadBps,
    BlkioDeviceWriteBps: r.BlkioDeviceWriteBps,
    BlkioDeviceReadIOps: r.BlkioDeviceReadIOps,
    BlkioDeviceWriteIOps: r.BlkioDeviceWriteIOps,
    CpuPeriod: r.CpuPeriod,
    CpuQuota: r.CpuQuota,
    CpuRealtimePeriod: r.CpuRealtimePeriod,
    CpuRealtimeRuntime: r.CpuRealtimeRuntime,
    CpusetCpus: r.CpusetCpus,
    CpusetMems: r.CpusetMems,
    Devices: r.Devices,
    DeviceCgroupRules: r.DeviceCgroupRules,
    DeviceRequests: null,
    MemoryReservation: r.MemoryReservation,
    MemorySwap: r.MemorySwap,
    MemorySwappiness: r.MemorySwappiness,
    OomKillDisable: r.OomKillDisable,
    PidsLimit: r.PidsLimit,
    Ulimits: r.Ulimits,
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
  };
}
