/**
 * The resource flags of `run`/`create` (and the subset `update` takes), named, parsed and checked as docker CLI 28
 * does (cli/command/container/opts.go, opts/*.go, go-units), with its messages. Parsing is pure; the daemon's checks
 * (ranges that depend on the host) are container/resources.ts's.
 */
import type { Command } from 'commander';
import { WharfError } from '../errors/index.js';
import {
  parseBytes,
  type DeviceMapping,
  type ResourceConfig,
  type ResourceUpdate,
  type ThrottleDevice,
  type Ulimit,
  type WeightDevice,
} from '../container/index.js';
import { collect } from './engine.js';
import { checkedBy, collectCheckedBy } from './flag-values.js';

/** The flag as pflag names it in messages: `-c, --cpu-shares` or `--cpus`. */
export type FlagName = string;

const flagError = (flag: FlagName, value: string, why: string): WharfError =>
  new WharfError('INVALID_ARGUMENT', `invalid argument "${value}" for "${flag}" flag: ${why}`);

/** Go's strconv.ParseInt(s, 10, bits) with its error text. */
export function goParseInt(s: string, bits = 64): number {
  if (!/^[+-]?\d+$/.test(s)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
  const v = BigInt(s);
  const max = (1n << BigInt(bits - 1)) - 1n;
  if (v > max || v < -max - 1n) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range`);
  return Number(v);
}

/** Go's strconv.ParseUint(s, 10, bits). */
export function goParseUint(s: string, bits = 64): number {
  if (!/^\d+$/.test(s)) throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(s)}: invalid syntax`);
  const v = BigInt(s);
  if (v > (1n << BigInt(bits)) - 1n)
    throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(s)}: value out of range`);
  return Number(v);
}

/** go-units RAMInBytes with the CLI's MemBytes rule: negative sizes are invalid. */
export function ramBytes(s: string): number {
  try {
    return parseBytes(s);
  } catch {
    throw new Error(`invalid size: '${s}'`);
  }
}

/** `--memory-swap`: bytes, or -1 for unlimited (opts.MemSwapBytes). */
export function swapBytes(v: string): number {
  return v === '-1' ? -1 : ramBytes(v);
}

/** A flag value through `parse`, its error worded as pflag words a bad value. */
export function flagValue<T>(flag: FlagName, value: string, parse: (s: string) => T): T {
  try {
    return parse(value);
  } catch (err) {
    throw flagError(flag, value, (err as Error).message);
  }
}

/** `--blkio-weight-device /dev/sda:200` (opts.ValidateWeightDevice). */
export function parseWeightDevice(val: string): WeightDevice {
  const parts = val.split(':');
  if (parts.length !== 2) throw new Error(`bad format: ${val}`);
  if (!parts[0]!.startsWith('/dev/')) throw new Error(`bad format for device path: ${val}`);
  let weight: number;
  try {
    weight = goParseUint(parts[1]!, 16);
  } catch {
    throw new Error(`invalid weight for device: ${val}`);
  }
  if (weight > 0 && (weight < 10 || weight > 1000)) throw new Error(`invalid weight for device: ${val}`);
  return { Path: parts[0]!, Weight: weight };
}

/** `--device-read-bps /dev/sda:1mb` (opts.ValidateThrottleBpsDevice) and the iops form (a plain number). */
export function parseThrottleDevice(val: string, kind: 'bps' | 'iops'): ThrottleDevice {
  const parts = val.split(':');
  if (parts.length !== 2) throw new Error(`bad format: ${val}`);
  if (!parts[0]!.startsWith('/dev/')) throw new Error(`bad format for device path: ${val}`);
  let rate: number;
  try {
    rate = kind === 'bps' ? parseBytes(parts[1]!) : goParseUint(parts[1]!);
  } catch {
    throw new Error(
      kind === 'bps'
        ? `invalid rate for device: ${val}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb`
        : `invalid rate for device: ${val}. The correct format is <device-path>:<number>. Number must be a positive integer`,
    );
  }
  return { Path: parts[0]!, Rate: rate };
}

const validDeviceMode = (mode: string): boolean =>
  mode !== '' && mode.length <= 3 && [...mode].every((c, i) => 'rwm'.includes(c) && mode.indexOf(c) === i);

/** `--device /dev/x[:/dev/y][:rwm]` (the CLI's validateLinuxPath, then parseLinuxDevice). */
export function parseDevice(val: string): DeviceMapping {
  const fail = (msg: string) => new WharfError('INVALID_ARGUMENT', msg);
  if ((val.match(/:/g) ?? []).length > 2 || val.split(':')[0] === '') throw fail(`bad format for path: ${val}`);
  const arr = val.split(':');
  let dst = '';
  let permissions = 'rwm';
  if (arr.length === 3) {
    if (!validDeviceMode(arr[2]!)) throw fail(`bad mode specified: ${arr[2]}`);
    permissions = arr[2]!;
    dst = arr[1]!;
  } else if (arr.length === 2) {
    if (validDeviceMode(arr[1]!)) permissions = arr[1]!;
    else dst = arr[1]!;
  }
  const src = arr[0]!;
  const containerPath = dst || src;
  if (!containerPath.startsWith('/')) throw fail(`${containerPath} is not an absolute path`);
  return { PathOnHost: src, PathInContainer: containerPath, CgroupPermissions: permissions };
}

/** `--device-cgroup-rule 'c 1:3 mr'` (the CLI's ValidateDeviceCgroupRule). */
export function checkDeviceCgroupRule(val: string): string {
  if (!/^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.test(val))
    throw new Error(`invalid device cgroup format '${val}'`);
  return val;
}

/** The names go-units knows for `--ulimit`. */
export const ULIMIT_NAMES: readonly string[] = [
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
];

/** `--ulimit nofile=1024:2048` (go-units ParseUlimit). */
export function parseUlimit(val: string): Ulimit {
  const eq = val.indexOf('=');
  if (eq < 0) throw new Error(`invalid ulimit argument: ${val}`);
  const name = val.slice(0, eq);
  if (!ULIMIT_NAMES.includes(name)) throw new Error(`invalid ulimit type: ${name}`);
  const rest = val.slice(eq + 1);
  const colon = rest.indexOf(':');
  const hardText = colon < 0 ? undefined : rest.slice(colon + 1);
  const hardParsed = hardText !== undefined ? goParseInt(hardText) : undefined;
  const soft = goParseInt(colon < 0 ? rest : rest.slice(0, colon));
  const hard = hardParsed ?? soft;
  if (hard !== -1) {
    if (soft === -1)
      throw new Error(
        `ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: ${hard}`,
      );
    if (soft > hard) throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  }
  return { Name: name, Hard: hard, Soft: soft };
}

/** The raw values commander collects for the resource flags. */
export interface ResourceFlags {
  cpuShares?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpuRtPeriod?: string;
  cpuRtRuntime?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  memoryReservation?: string;
  memorySwap?: string;
  memorySwappiness?: string;
  kernelMemory?: string;
  pidsLimit?: string;
  blkioWeight?: string;
  blkioWeightDevice?: string[];
  deviceReadBps?: string[];
  deviceWriteBps?: string[];
  deviceReadIops?: string[];
  deviceWriteIops?: string[];
  device?: string[];
  deviceCgroupRule?: string[];
  ulimit?: string[];
  oomKillDisable?: boolean;
  oomScoreAdj?: string;
  cgroupParent?: string;
  cgroupns?: string;
}

/** An `int` flag's value, checked as pflag parses it (`invalid argument "x" for "--limit" flag: …`). */
export const intFlag = checkedBy((s) => goParseInt(s));
const bytes = checkedBy(ramBytes);

/** The flags `update` shares with `run` (docker update --help); values checked as pflag checks them (flag-values.ts). */
export function updateResourceFlags(cmd: Command): Command {
  return cmd
    .option(
      '--blkio-weight <uint16>',
      'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)',
      checkedBy((s) => goParseUint(s, 16)),
    )
    .option('--cpu-period <int>', 'Limit CPU CFS (Completely Fair Scheduler) period', intFlag)
    .option('--cpu-quota <int>', 'Limit CPU CFS (Completely Fair Scheduler) quota', intFlag)
    .option('--cpu-rt-period <int>', 'Limit the CPU real-time period in microseconds', intFlag)
    .option('--cpu-rt-runtime <int>', 'Limit the CPU real-time runtime in microseconds', intFlag)
    .option('-c, --cpu-shares <int>', 'CPU shares (relative weight)', intFlag)
    .option('--cpuset-cpus <string>', 'CPUs in which to allow execution (0-3, 0,1)')
    .option('--cpuset-mems <string>', 'MEMs in which to allow execution (0-3, 0,1)')
    .option('--memory-reservation <bytes>', 'Memory soft limit', bytes)
    .option(
      '--memory-swap <bytes>',
      'Swap limit equal to memory plus swap: -1 to enable unlimited swap',
      checkedBy(swapBytes),
    )
    .option('--pids-limit <int>', 'Tune container pids limit (set -1 for unlimited)', intFlag);
}

/** Every resource flag of `run`/`create` that containers.ts does not define itself (-m, --cpus, --shm-size). */
export function resourceFlags(cmd: Command): Command {
  const list = <T>(parse: (s: string) => T) => collectCheckedBy(parse);
  return (
    updateResourceFlags(cmd)
      .option('--memory-swappiness <int>', 'Tune container memory swappiness (0 to 100) (default -1)', intFlag)
      .option('--kernel-memory <bytes>', 'Kernel memory limit', bytes)
      .option('--blkio-weight-device <list>', 'Block IO weight (relative device weight)', list(parseWeightDevice), [])
      .option(
        '--device-read-bps <list>',
        'Limit read rate (bytes per second) from a device',
        list((s) => parseThrottleDevice(s, 'bps')),
        [],
      )
      .option(
        '--device-write-bps <list>',
        'Limit write rate (bytes per second) to a device',
        list((s) => parseThrottleDevice(s, 'bps')),
        [],
      )
      .option(
        '--device-read-iops <list>',
        'Limit read rate (IO per second) from a device',
        list((s) => parseThrottleDevice(s, 'iops')),
        [],
      )
      .option(
        '--device-write-iops <list>',
        'Limit write rate (IO per second) to a device',
        list((s) => parseThrottleDevice(s, 'iops')),
        [],
      )
      // --device and --cgroupns are checked after the flags, with the CLI's own messages (its parse()).
      .option('--device <list>', 'Add a host device to the container', collect, [])
      .option(
        '--device-cgroup-rule <list>',
        'Add a rule to the cgroup allowed devices list',
        list(checkDeviceCgroupRule),
        [],
      )
      .option('--ulimit <ulimit>', 'Ulimit options', list(parseUlimit), [])
      .option('--oom-kill-disable', 'Disable OOM Killer')
      .option('--oom-score-adj <int>', "Tune host's OOM preferences (-1000 to 1000)", intFlag)
      .option('--cgroup-parent <string>', 'Optional parent cgroup for the container')
      .option('--cgroupns <string>', 'Cgroup namespace to use (host|private)')
  );
}

const int = (flag: FlagName, v: string | undefined): number | undefined =>
  v === undefined ? undefined : flagValue(flag, v, (s) => goParseInt(s));

/** The update flags → Docker's update fields; undefined members were not given. */
export function toResourceUpdate(o: ResourceFlags): ResourceUpdate {
  const u: ResourceUpdate = {};
  const set = <K extends keyof ResourceUpdate>(k: K, v: ResourceUpdate[K] | undefined) => {
    if (v !== undefined) u[k] = v;
  };
  set(
    'BlkioWeight',
    o.blkioWeight === undefined ? undefined : flagValue('--blkio-weight', o.blkioWeight, (s) => goParseUint(s, 16)),
  );
  set('CpuPeriod', int('--cpu-period', o.cpuPeriod));
  set('CpuQuota', int('--cpu-quota', o.cpuQuota));
  set('CpuRealtimePeriod', int('--cpu-rt-period', o.cpuRtPeriod));
  set('CpuRealtimeRuntime', int('--cpu-rt-runtime', o.cpuRtRuntime));
  set('CpuShares', int('-c, --cpu-shares', o.cpuShares));
  set('CpusetCpus', o.cpusetCpus);
  set('CpusetMems', o.cpusetMems);
  set(
    'MemoryReservation',
    o.memoryReservation === undefined ? undefined : flagValue('--memory-reservation', o.memoryReservation, ramBytes),
  );
  set('MemorySwap', o.memorySwap === undefined ? undefined : flagValue('--memory-swap', o.memorySwap, swapBytes));
  set('PidsLimit', int('--pids-limit', o.pidsLimit));
  return u;
}

/**
 * All resource flags → CreateOptions.resources, and the CLI's own warnings (`--kernel-memory`: accepted and ignored,
 * as Docker 28's API ignores KernelMemory).
 */
export function toResources(o: ResourceFlags): { resources: Partial<ResourceConfig>; warnings: string[] } {
  const warnings: string[] = [];
  const { NanoCpus: _n, Memory: _m, ...u } = toResourceUpdate(o);
  const r: Partial<ResourceConfig> = { ...u };
  if (o.memorySwappiness !== undefined) {
    const v = flagValue('--memory-swappiness', o.memorySwappiness, (s) => goParseInt(s));
    if (v !== -1 && (v < 0 || v > 100))
      throw new WharfError('INVALID_ARGUMENT', `invalid value: ${v}. Valid memory swappiness range is 0-100`);
    r.MemorySwappiness = v === -1 ? null : v;
  }
  if (o.kernelMemory !== undefined) {
    flagValue('--kernel-memory', o.kernelMemory, ramBytes);
    warnings.push('Specifying a kernel memory limit is deprecated and will be removed in a future release.');
  }
  const list = <T>(flag: FlagName, vals: string[] | undefined, parse: (s: string) => T): T[] =>
    (vals ?? []).map((v) => flagValue(flag, v, parse));
  r.BlkioWeightDevice = list('--blkio-weight-device', o.blkioWeightDevice, parseWeightDevice);
  r.BlkioDeviceReadBps = list('--device-read-bps', o.deviceReadBps, (s) => parseThrottleDevice(s, 'bps'));
  r.BlkioDeviceWriteBps = list('--device-write-bps', o.deviceWriteBps, (s) => parseThrottleDevice(s, 'bps'));
  r.BlkioDeviceReadIOps = list('--device-read-iops', o.deviceReadIops, (s) => parseThrottleDevice(s, 'iops'));
  r.BlkioDeviceWriteIOps = list('--device-write-iops', o.deviceWriteIops, (s) => parseThrottleDevice(s, 'iops'));
  r.Devices = (o.device ?? []).map(parseDevice);
  const rules = list('--device-cgroup-rule', o.deviceCgroupRule, checkDeviceCgroupRule);
  if (rules.length) r.DeviceCgroupRules = rules;
  // A later --ulimit of the same name replaces an earlier one; the CLI sends them sorted by name.
  const ulimits = new Map<string, Ulimit>();
  for (const u of list('--ulimit', o.ulimit, parseUlimit)) ulimits.set(u.Name, u);
  r.Ulimits = [...ulimits.values()].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  if (o.oomKillDisable) r.OomKillDisable = true;
  const adj = int('--oom-score-adj', o.oomScoreAdj);
  if (adj !== undefined) r.OomScoreAdj = adj;
  if (o.cgroupParent !== undefined) r.CgroupParent = o.cgroupParent;
  if (o.cgroupns !== undefined && o.cgroupns !== '') {
    if (o.cgroupns !== 'host' && o.cgroupns !== 'private')
      throw new WharfError('INVALID_ARGUMENT', '--cgroupns: invalid CGROUP mode');
    r.CgroupnsMode = o.cgroupns;
  }
  return { resources: r, warnings };
}
