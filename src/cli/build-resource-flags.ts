/**
 * `build`'s flags for the containers of its RUN steps (docker CLI 28's classic-builder flags: --cgroup-parent,
 * --cpu-period/--cpu-quota/-c/--cpuset-cpus/--cpuset-mems, -m/--memory-swap, --shm-size, --ulimit, --security-opt),
 * parsed as `run` parses them (resource-flags.ts) and checked as dockerd checks a step container's host config
 * (container/resources.ts), then mapped to the spec as a container's (container/ stepSpecOptions).
 */
import type { Command } from 'commander';
import { WharfError } from '../errors/index.js';
import {
  checkResources,
  hostResources,
  probeUlimits,
  resourcesOf,
  stepSpecOptions,
  type HostConfig,
  type Ulimit,
} from '../container/index.js';
import type { SpecOptions } from '../runtime/index.js';
import { checkedBy, collectCheckedBy } from './flag-values.js';
import { flagValue, goParseInt, intFlag, parseUlimit, ramBytes, swapBytes } from './resource-flags.js';

export interface BuildResourceFlags {
  cgroupParent?: string;
  compress?: boolean;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpuShares?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  memory?: string;
  memorySwap?: string;
  shmSize?: string;
  ulimit: string[];
  securityOpt: string[];
}

export function buildResourceFlags(cmd: Command): Command {
  return (
    cmd
      .option('--cgroup-parent <string>', 'Set the parent cgroup for the "RUN" instructions during build')
      // The docker CLI gzips the context it sends to the daemon; Wharf's builder reads the context where it is (no
      // client and server), so there is nothing to compress: accepted, and a no-op as for a local daemon.
      .option('--compress', 'Compress the build context using gzip')
      .option('--cpu-period <int>', 'Limit the CPU CFS (Completely Fair Scheduler) period', intFlag)
      .option('--cpu-quota <int>', 'Limit the CPU CFS (Completely Fair Scheduler) quota', intFlag)
      .option('-c, --cpu-shares <int>', 'CPU shares (relative weight)', intFlag)
      .option('--cpuset-cpus <string>', 'CPUs in which to allow execution (0-3, 0,1)')
      .option('--cpuset-mems <string>', 'MEMs in which to allow execution (0-3, 0,1)')
      .option('-m, --memory <bytes>', 'Memory limit', checkedBy(ramBytes))
      .option(
        '--memory-swap <bytes>',
        'Swap limit equal to memory plus swap: -1 to enable unlimited swap',
        checkedBy(swapBytes),
      )
      .option('--security-opt <strings>', 'Security options', (v: string, prev: string[]) => [...prev, v], [])
      .option('--shm-size <bytes>', 'Size of "/dev/shm"', checkedBy(ramBytes))
      .option('--ulimit <ulimit>', 'Ulimit options', collectCheckedBy(parseUlimit), [])
  );
}

/**
 * The step containers' spec settings from the flags, or an error in dockerd's words. `--security-opt` is refused as
 * dockerd on Linux refuses it for a classic build (any value). The daemon's checks of the resources (minimum memory,
 * swap above memory, CFS quota, available CPUs …) run before the first step here, where dockerd runs them at the first
 * step's container.
 */
export async function buildStepSpec(
  o: BuildResourceFlags,
): Promise<{ runSpec?: Partial<SpecOptions>; cgroupParent?: string }> {
  if (o.securityOpt.length)
    throw new WharfError(
      'INVALID_ARGUMENT',
      'Error response from daemon: The daemon on this platform does not support setting security options on build',
    );
  const int = (flag: string, v: string | undefined): number =>
    v === undefined ? 0 : flagValue(flag, v, (s) => goParseInt(s));
  const ulimits = new Map<string, Ulimit>();
  for (const v of o.ulimit) {
    const u = flagValue('--ulimit', v, parseUlimit);
    ulimits.set(u.Name, u);
  }
  const hc: Partial<HostConfig> = {
    CpuPeriod: int('--cpu-period', o.cpuPeriod),
    CpuQuota: int('--cpu-quota', o.cpuQuota),
    CpuShares: int('-c, --cpu-shares', o.cpuShares),
    CpusetCpus: o.cpusetCpus ?? '',
    CpusetMems: o.cpusetMems ?? '',
    MemorySwap: o.memorySwap === undefined ? 0 : flagValue('--memory-swap', o.memorySwap, swapBytes),
    Ulimits: [...ulimits.values()],
    ShmSize: o.shmSize === undefined ? 0 : flagValue('--shm-size', o.shmSize, ramBytes),
  };
  const memory = o.memory === undefined ? 0 : flagValue('-m, --memory', o.memory, ramBytes);
  const given = memory || Object.values(hc).some((v) => (Array.isArray(v) ? v.length : v));
  if (!given) return o.cgroupParent ? { cgroupParent: o.cgroupParent } : {};
  const r = { ...resourcesOf(hc), Memory: memory, NanoCpus: 0 };
  checkResources(r, hostResources());
  // A limit the kernel here refuses is left out, as for a container (the sandbox refuses prlimit).
  const apply = (await probeUlimits(r.Ulimits)).apply;
  const runSpec = await stepSpecOptions({ ...hc, MemorySwap: r.MemorySwap, Memory: memory, Ulimits: apply });
  return { runSpec, ...(o.cgroupParent ? { cgroupParent: o.cgroupParent } : {}) };
}
