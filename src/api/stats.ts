import { setTimeout as sleep } from 'node:timers/promises';
import type { StatsSample } from '../runtime/index.js';
import { boolParam, type ApiRequest } from './context.js';
import { shapeStatsFrame } from './version-shapes.js';

/** dockerd's collector publishes a sample every second; the CPU percentage is the change over it. */
const INTERVAL_MS = 1000;
const ZERO_TIME = '0001-01-01T00:00:00Z';

function cpuStats(s: StatsSample | undefined): Record<string, unknown> {
  if (!s)
    return {
      cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    };
  return {
    cpu_usage: { total_usage: s.cpuUsage, usage_in_kernelmode: 0, usage_in_usermode: 0 },
    system_cpu_usage: s.systemUsage,
    online_cpus: s.onlineCpus,
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
}

/**
 * One frame of `GET /containers/{id}/stats` in Docker's StatsJSON shape: `cpu_stats` against `precpu_stats` (the
 * previous frame's), `memory_stats` with memory.stat as `stats` (the docker CLI subtracts `total_inactive_file` on
 * cgroup v1, `inactive_file` on v2), block I/O as one Read and one Write entry (the CLI sums them by op), the
 * network as `eth0`, and `pids_stats`. A container that does not run gets the zero frame dockerd sends.
 */
export function statsFrame(
  c: { id: string; name: string },
  sample: StatsSample | undefined,
  prev: StatsSample | undefined,
  read: Date | undefined,
  preread: Date | undefined,
): Record<string, unknown> {
  const blk = sample
    ? [
        { major: 0, minor: 0, op: 'Read', value: sample.blkRead },
        { major: 0, minor: 0, op: 'Write', value: sample.blkWrite },
        { major: 0, minor: 0, op: 'Sync', value: 0 },
        { major: 0, minor: 0, op: 'Async', value: sample.blkRead + sample.blkWrite },
        { major: 0, minor: 0, op: 'Discard', value: 0 },
        { major: 0, minor: 0, op: 'Total', value: sample.blkRead + sample.blkWrite },
      ]
    : null;
  const frame: Record<string, unknown> = {
    read: read ? read.toISOString() : ZERO_TIME,
    preread: preread ? preread.toISOString() : ZERO_TIME,
    pids_stats: sample ? { current: sample.pids } : {},
    blkio_stats: {
      io_service_bytes_recursive: blk,
      io_serviced_recursive: null,
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(sample),
    precpu_stats: cpuStats(prev),
    memory_stats: sample ? { usage: sample.memUsage, stats: sample.memStats, limit: sample.memLimit } : {},
    name: `/${c.name}`,
    id: c.id,
  };
  if (sample) {
    const iface = (rx: number, tx: number) => ({
      rx_bytes: rx,
      rx_packets: 0,
      rx_errors: 0,
      rx_dropped: 0,
      tx_bytes: tx,
      tx_packets: 0,
      tx_errors: 0,
      tx_dropped: 0,
    });
    frame.networks = { eth0: iface(sample.netRx, sample.netTx) };
  }
  return frame;
}

/**
 * GET /containers/{id}/stats: a frame a second while `stream` (the default), until the client goes or the container
 * stops; with `stream=false` one frame whose `precpu_stats` is a second older (dockerd primes it so the CPU
 * percentage is not 0), with `one-shot=true` (1.41) one frame at once and no previous sample.
 */
export async function statsHandler(r: ApiRequest): Promise<void> {
  const first = await r.wharf.containers.stats(r.params.id!);
  const stream = boolParam(r.query, 'stream', true);
  const oneShot = boolParam(r.query, 'one-shot');
  r.res.writeHead(200, { 'Content-Type': 'application/json' });
  let gone = false;
  r.res.once('close', () => {
    gone = true;
  });
  let prev: StatsSample | undefined;
  let prevAt: Date | undefined;
  let cur = first;
  let at = new Date();
  if (!stream && !oneShot && cur.sample) {
    prev = cur.sample;
    prevAt = at;
    await sleep(INTERVAL_MS);
    cur = await r.wharf.containers.stats(first.container.id).catch(() => ({ container: first.container }));
    at = new Date();
  }
  for (;;) {
    const sample = 'sample' in cur ? cur.sample : undefined;
    const frame = statsFrame(first.container, sample, prev, sample ? at : undefined, prevAt);
    r.res.write(`${JSON.stringify(shapeStatsFrame(frame, r.version))}\n`);
    if (!stream || gone || !sample) break;
    prev = sample;
    prevAt = at;
    await sleep(INTERVAL_MS);
    if (gone) break;
    try {
      cur = await r.wharf.containers.stats(first.container.id);
    } catch {
      break; // removed meanwhile
    }
    at = new Date();
  }
  r.res.end();
}
