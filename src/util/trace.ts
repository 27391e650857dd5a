import { appendFileSync } from 'node:fs';

/**
 * Start-up tracing for profiling by hand: with WHARF_TRACE=/some/file, every process (CLI, monitor) appends
 * "<epoch ms> <pid> <label> cpu=<ms>" lines to that file, so one timeline covers all the processes of a `run`. The
 * CPU time counts all of the process's threads (Node's start-up alone uses several). Off, it costs one check.
 */
const traceFile = process.env.WHARF_TRACE;

export function trace(label: string): void {
  if (!traceFile) return;
  const cpu = process.cpuUsage();
  const cpuMs = ((cpu.user + cpu.system) / 1000).toFixed(1);
  appendFileSync(traceFile, `${(performance.timeOrigin + performance.now()).toFixed(2)} ${process.pid} ${label} cpu=${cpuMs}\n`);
}
