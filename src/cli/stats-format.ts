/**
 * `docker stats`'s columns from two samples, computed as docker CLI 28 computes them (cli/command/container/
 * stats_helpers.go, formatter_stats.go). Pure.
 */
import type { StatsSample } from '../runtime/index.js';
import { humanSize } from '../util/index.js';

/** go-units BytesSize: binary units, `%.4g` ("308KiB", "64MiB", "1.953GiB"). */
export function bytesSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/** CPU %: the container's CPU time over the host's in the same interval, times the online CPUs. */
export function cpuPercent(prev: Pick<StatsSample, 'cpuUsage' | 'systemUsage'> | undefined, cur: StatsSample): number {
  const cpuDelta = cur.cpuUsage - (prev?.cpuUsage ?? 0);
  const systemDelta = cur.systemUsage - (prev?.systemUsage ?? 0);
  if (systemDelta > 0 && cpuDelta > 0) return (cpuDelta / systemDelta) * cur.onlineCpus * 100;
  return 0;
}

/** Memory in use without the inactive file cache: v1 `total_inactive_file`, else v2 `inactive_file`. */
export function memUsageNoCache(s: Pick<StatsSample, 'memUsage' | 'memStats'>): number {
  const v1 = s.memStats.total_inactive_file;
  if (v1 !== undefined && v1 < s.memUsage) return s.memUsage - v1;
  const v2 = s.memStats.inactive_file ?? 0;
  if (v2 < s.memUsage) return s.memUsage - v2;
  return s.memUsage;
}

/** One row of `docker stats`, with the field names its templates use. */
export interface StatsRow extends Record<string, unknown> {
  Container: string;
  Name: string;
  ID: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

/**
 * A row for a container (`shown`: the argument as given, else the short ID); without a sample (not running) every
 * figure is zero, as Docker shows a stopped container.
 */
export function statsRow(
  c: { id: string; name: string },
  shown: string,
  prev: StatsSample | undefined,
  cur: StatsSample | undefined,
  noTrunc: boolean,
): StatsRow {
  const used = cur ? memUsageNoCache(cur) : 0;
  const limit = cur?.memLimit ?? 0;
  const pct = (n: number) => `${n.toFixed(2)}%`;
  // Alphabetical, as Go marshals the CLI's map for `--format json`.
  return {
    BlockIO: `${humanSize(cur?.blkRead ?? 0)} / ${humanSize(cur?.blkWrite ?? 0)}`,
    CPUPerc: pct(cur ? cpuPercent(prev, cur) : 0),
    Container: shown,
    ID: noTrunc ? c.id : c.id.slice(0, 12),
    MemPerc: pct(limit ? (used / limit) * 100 : 0),
    MemUsage: `${bytesSize(used)} / ${bytesSize(limit)}`,
    Name: c.name,
    NetIO: `${humanSize(cur?.netRx ?? 0)} / ${humanSize(cur?.netTx ?? 0)}`,
    PIDs: String(cur?.pids ?? 0),
  };
}

export const STATS_TABLE =
  '{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

export const STATS_HEADERS: Record<string, string> = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};
