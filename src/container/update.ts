/**
 * `docker update`: new resource limits for a container, recorded for its next start and, while it runs, applied to
 * its cgroups at once by `runc update`.
 */
import type { OciResources } from '../runtime/index.js';
import { hostResources } from './host-resources.js';
import { checkResources, mergeResourceUpdate, resourcesOf, type ResourceUpdate, type Resources } from './resources.js';
import type { HostConfig } from './types.js';

/** The merged and checked settings of an update, and Docker's warnings. */
export function planUpdate(id: string, hc: HostConfig, u: ResourceUpdate): { next: Resources; warnings: string[] } {
  const cur: Resources = { ...resourcesOf(hc), Memory: hc.Memory, NanoCpus: hc.NanoCpus };
  const next = mergeResourceUpdate(cur, u, id);
  const warnings = checkResources(next, hostResources(), { update: true });
  return { next, warnings };
}

/** What `runc update` gets: the limits `docker update` can change, as they are after the update. */
export function liveResources(r: Resources, u: ResourceUpdate): OciResources {
  const out: OciResources = {};
  const memory: NonNullable<OciResources['memory']> = {};
  if (r.Memory) memory.limit = r.Memory;
  if (r.MemorySwap) memory.swap = r.MemorySwap;
  if (r.MemoryReservation) memory.reservation = r.MemoryReservation;
  if (Object.keys(memory).length) out.memory = memory;
  const cpu: NonNullable<OciResources['cpu']> = {};
  if (r.CpuShares) cpu.shares = r.CpuShares;
  if (r.NanoCpus) {
    cpu.period = 100_000;
    cpu.quota = Math.round((r.NanoCpus * 100_000) / 1e9);
  } else {
    if (r.CpuPeriod) cpu.period = r.CpuPeriod;
    if (r.CpuQuota) cpu.quota = r.CpuQuota;
  }
  if (r.CpuRealtimePeriod) cpu.realtimePeriod = r.CpuRealtimePeriod;
  if (r.CpuRealtimeRuntime) cpu.realtimeRuntime = r.CpuRealtimeRuntime;
  if (r.CpusetCpus) cpu.cpus = r.CpusetCpus;
  if (r.CpusetMems) cpu.mems = r.CpusetMems;
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (r.BlkioWeight) out.blockIO = { weight: r.BlkioWeight };
  // An update to "unlimited" must say so (-1): a missing limit leaves the cgroup's as it is.
  if (r.PidsLimit) out.pids = { limit: r.PidsLimit };
  else if (u.PidsLimit !== undefined) out.pids = { limit: -1 };
  return out;
}
