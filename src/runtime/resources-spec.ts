/**
 * The resource part of a container's OCI spec (`run --cpu-shares/--cpuset-cpus/--memory-reservation/--blkio-weight/
 * --device/--device-cgroup-rule/--ulimit/--oom-score-adj/--cgroupns …`): values already checked and resolved by the
 * caller (device numbers looked up on the host), mapped here to `linux.resources`, `linux.devices`,
 * `process.rlimits` and `process.oomScoreAdj` as moby's daemon/oci_linux.go maps them.
 */
import type { OciBlockIODevice, OciDevice, OciDeviceRule, OciResources, OciRlimit, OciSpec } from './oci-spec.js';

/** A host device given to the container (`--device /dev/x[:/dev/y][:rwm]`), with what stat() said about it. */
export interface ResolvedDevice {
  pathInContainer: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
  /** Cgroup access: some of `rwm`. */
  permissions: string;
}

/** The resource settings beyond `memory`, `memorySwap`, `cpus`, `cpuShares` and `pidsLimit` of SpecOptions. */
export interface ResourceSpecOptions {
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuRealtimePeriod?: number;
  cpuRealtimeRuntime?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  memoryReservation?: number;
  memorySwappiness?: number;
  oomKillDisable?: boolean;
  blkioWeight?: number;
  blkioWeightDevice?: OciBlockIODevice[];
  throttleReadBpsDevice?: OciBlockIODevice[];
  throttleWriteBpsDevice?: OciBlockIODevice[];
  throttleReadIOPSDevice?: OciBlockIODevice[];
  throttleWriteIOPSDevice?: OciBlockIODevice[];
  devices?: ResolvedDevice[];
  /** `--device-cgroup-rule` lines, already checked: `c 1:3 mr`, `a *:* rwm`. */
  deviceCgroupRules?: string[];
  /** `--ulimit` entries that this host can apply (name without the RLIMIT_ prefix, lower case). */
  ulimits?: Array<{ name: string; soft: number; hard: number }>;
  oomScoreAdj?: number;
  /** `--cgroupns private`: a cgroup namespace of its own. */
  cgroupnsPrivate?: boolean;
}

/** `c 1:3 mr` → an allow rule; `*` is runc's wildcard (the number left out). */
export function deviceCgroupRule(rule: string): OciDeviceRule {
  const m = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.exec(rule);
  if (!m) throw new Error(`invalid device cgroup rule '${rule}'`);
  const r: OciDeviceRule = { allow: true, type: m[1] as 'a' | 'b' | 'c', access: m[4]! };
  if (m[2] !== '*') r.major = Number(m[2]);
  if (m[3] !== '*') r.minor = Number(m[3]);
  return r;
}

/** Add the resource settings to a spec built by buildSpec (its `linux.resources` already holds memory/cpu/pids). */
export function applyResourceSpec(spec: OciSpec, o: ResourceSpecOptions, privileged: boolean): void {
  spec.linux.resources ??= {};
  const r: OciResources = spec.linux.resources;
  const cpu = { ...r.cpu };
  if (o.cpuPeriod) cpu.period = o.cpuPeriod;
  if (o.cpuQuota) cpu.quota = o.cpuQuota;
  if (o.cpuRealtimePeriod) cpu.realtimePeriod = o.cpuRealtimePeriod;
  if (o.cpuRealtimeRuntime) cpu.realtimeRuntime = o.cpuRealtimeRuntime;
  if (o.cpusetCpus) cpu.cpus = o.cpusetCpus;
  if (o.cpusetMems) cpu.mems = o.cpusetMems;
  if (Object.keys(cpu).length) r.cpu = cpu;

  const memory = { ...r.memory };
  if (o.memoryReservation) memory.reservation = o.memoryReservation;
  if (o.memorySwappiness !== undefined && o.memorySwappiness >= 0) memory.swappiness = o.memorySwappiness;
  if (o.oomKillDisable) memory.disableOOMKiller = true;
  if (Object.keys(memory).length) r.memory = memory;

  const blockIO: NonNullable<OciResources['blockIO']> = {};
  if (o.blkioWeight) blockIO.weight = o.blkioWeight;
  const lists = [
    ['weightDevice', o.blkioWeightDevice],
    ['throttleReadBpsDevice', o.throttleReadBpsDevice],
    ['throttleWriteBpsDevice', o.throttleWriteBpsDevice],
    ['throttleReadIOPSDevice', o.throttleReadIOPSDevice],
    ['throttleWriteIOPSDevice', o.throttleWriteIOPSDevice],
  ] as const;
  for (const [k, v] of lists) if (v?.length) blockIO[k] = v.map((d) => ({ ...d }));
  if (Object.keys(blockIO).length) r.blockIO = blockIO;

  // A privileged container already has every device allowed (buildSpec's rule); the nodes are still created.
  const devices: OciDevice[] = [];
  const rules: OciDeviceRule[] = [...(r.devices ?? [])];
  for (const d of o.devices ?? []) {
    devices.push({
      path: d.pathInContainer,
      type: d.type,
      major: d.major,
      minor: d.minor,
      fileMode: d.fileMode,
      uid: d.uid,
      gid: d.gid,
    });
    if (!privileged) rules.push({ allow: true, type: d.type, major: d.major, minor: d.minor, access: d.permissions });
  }
  if (!privileged) for (const rule of o.deviceCgroupRules ?? []) rules.push(deviceCgroupRule(rule));
  r.devices = rules;
  if (devices.length) spec.linux.devices = devices;

  if (o.ulimits?.length) {
    spec.process.rlimits = o.ulimits.map(
      (u): OciRlimit => ({ type: `RLIMIT_${u.name.toUpperCase()}`, hard: u.hard, soft: u.soft }),
    );
  }
  if (o.oomScoreAdj) spec.process.oomScoreAdj = o.oomScoreAdj;
  if (o.cgroupnsPrivate && !spec.linux.namespaces.some((n) => n.type === 'cgroup')) {
    spec.linux.namespaces.push({ type: 'cgroup' });
  }
}
