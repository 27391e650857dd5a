/**
 * One sample of a container's counters for `docker stats`, read from its cgroup (v1 controllers or the v2 unified
 * tree) as dockerd's stats collector reads them, the host's CPU time from /proc/stat, and its network traffic from
 * its network namespace (/proc/<pid>/net/dev). The parsers are pure; `readCgroupSample` does the reading, under a
 * cgroup root a test may replace with a fake tree.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface CgroupSample {
  /** Nanoseconds of CPU the container used (v1 cpuacct.usage, v2 cpu.stat usage_usec × 1000). */
  cpuUsage: number;
  /** Bytes charged to the cgroup (v1 memory.usage_in_bytes, v2 memory.current). */
  memUsage: number;
  /** The memory limit; the host's memory when unlimited (as dockerd reports it). */
  memLimit: number;
  /** memory.stat, by key. */
  memStats: Record<string, number>;
  blkRead: number;
  blkWrite: number;
  pids: number;
}

export interface StatsSample extends CgroupSample {
  /** Nanoseconds of CPU time of the whole host (/proc/stat), as dockerd's SystemUsage. */
  systemUsage: number;
  onlineCpus: number;
  netRx: number;
  netTx: number;
}

/** `key value` lines (memory.stat, cpu.stat). */
export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** cgroup v1 blkio.throttle.io_service_bytes_recursive: `8:0 Read 4096` lines summed by operation. */
export function parseBlkioV1(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    const [dev, op, v] = line.trim().split(/\s+/);
    if (!dev || !v || !dev.includes(':')) continue;
    if (op?.toLowerCase() === 'read') read += Number(v);
    else if (op?.toLowerCase() === 'write') write += Number(v);
  }
  return { read, write };
}

/** cgroup v2 io.stat: `8:0 rbytes=… wbytes=… rios=…` lines, bytes summed over devices. */
export function parseIoStatV2(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    for (const kv of line.trim().split(/\s+/).slice(1)) {
      const [k, v] = kv.split('=');
      if (k === 'rbytes') read += Number(v);
      else if (k === 'wbytes') write += Number(v);
    }
  }
  return { read, write };
}

/** /proc/<pid>/net/dev: received and sent bytes of every interface but the loopback (Docker counts its endpoints). */
export function parseNetDev(text: string): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo') continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (f.length < 9) continue;
    rx += Number(f[0]);
    tx += Number(f[8]);
  }
  return { rx, tx };
}

/** /proc/stat's `cpu` line: user+nice+system+idle+iowait+irq+softirq ticks in nanoseconds (dockerd's rule). */
export function parseProcStatCpu(text: string, ticksPerSecond = 100): number {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const ticks = line
    .trim()
    .split(/\s+/)
    .slice(1, 8)
    .reduce((a, v) => a + Number(v), 0);
  return (ticks * 1e9) / ticksPerSecond;
}

/** MemTotal of /proc/meminfo in bytes. */
export function parseMemTotal(text: string): number {
  const m = /^MemTotal:\s+(\d+)\s*kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : 0;
}

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};
const num = (text: string | undefined): number => {
  const t = text?.trim();
  return t && /^\d+$/.test(t) ? Number(t) : 0;
};

/**
 * The cgroup counters of `cgroupsPath` (absolute, as in the OCI spec) under `root`: v2 when the root is the unified
 * hierarchy, else the v1 controllers. `machineMemory` caps an unlimited memory limit, as dockerd does.
 */
export function readCgroupSample(cgroupsPath: string, machineMemory: number, root = '/sys/fs/cgroup'): CgroupSample {
  const cap = (limit: number) => (limit === 0 || (machineMemory > 0 && limit > machineMemory) ? machineMemory : limit);
  if (existsSync(`${root}/cgroup.controllers`)) {
    const dir = `${root}${cgroupsPath}`;
    const cpu = parseFlatKeyed(read(`${dir}/cpu.stat`) ?? '');
    const max = read(`${dir}/memory.max`)?.trim();
    const io = parseIoStatV2(read(`${dir}/io.stat`) ?? '');
    return {
      cpuUsage: (cpu.usage_usec ?? 0) * 1000,
      memUsage: num(read(`${dir}/memory.current`)),
      memLimit: cap(max === undefined || max === 'max' ? 0 : num(max)),
      memStats: parseFlatKeyed(read(`${dir}/memory.stat`) ?? ''),
      blkRead: io.read,
      blkWrite: io.write,
      pids: num(read(`${dir}/pids.current`)),
    };
  }
  const at = (controller: string, file: string) => read(`${root}/${controller}${cgroupsPath}/${file}`);
  const cpuacct = at('cpuacct', 'cpuacct.usage') ?? at('cpu,cpuacct', 'cpuacct.usage');
  const io = parseBlkioV1(at('blkio', 'blkio.throttle.io_service_bytes_recursive') ?? '');
  return {
    cpuUsage: num(cpuacct),
    memUsage: num(at('memory', 'memory.usage_in_bytes')),
    memLimit: cap(num(at('memory', 'memory.limit_in_bytes'))),
    memStats: parseFlatKeyed(at('memory', 'memory.stat') ?? ''),
    blkRead: io.read,
    blkWrite: io.write,
    pids: num(at('pids', 'pids.current')),
  };
}

/**
 * One full sample: the cgroup's counters, the host's CPU time and the container's network traffic (`pid` is its
 * first process; none for a container on the host's network, which Docker shows as 0B / 0B).
 */
export function readStatsSample(opts: {
  cgroupsPath: string;
  pid?: number;
  onlineCpus: number;
  cgroupRoot?: string;
  procRoot?: string;
}): StatsSample {
  const proc = opts.procRoot ?? '/proc';
  const machineMemory = parseMemTotal(read(`${proc}/meminfo`) ?? '');
  const cg = readCgroupSample(opts.cgroupsPath, machineMemory, opts.cgroupRoot);
  const net = opts.pid ? parseNetDev(read(`${proc}/${opts.pid}/net/dev`) ?? '') : { rx: 0, tx: 0 };
  return {
    ...cg,
    systemUsage: parseProcStatCpu(read(`${proc}/stat`) ?? ''),
    onlineCpus: opts.onlineCpus,
    netRx: net.rx,
    netTx: net.tx,
  };
}
