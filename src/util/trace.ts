import { appendFileSync } from 'node:fs';

/**
 * Start-up tracing for profiling by hand: with WHARF_TRACE=/some/file, every process (CLI, monitor) appends
 * "<epoch ms> <pid> <label> cpu=<ms>" lines to that file, so one timeline covers all the processes of a `run`. The
 * CPU time counts all of the process's threads (Node's start-up alone uses several). Off, it costs one check.
 * One of the two environment switches the library reads (with WHARF_NATIVE, util/native.ts): it is process-wide by
 * nature (the monitor process, started by the CLI or by a library program, inherits it and traces into the same
 * file), it changes no behaviour, and it must be on before any module has run, which no setter could be.
 */
const traceFile = process.env.WHARF_TRACE;

export function trace(label: string): void {
  if (!traceFile) return;
  const cpu = process.cpuUsage();
  const cpuMs = ((cpu.user + cpu.system) / 1000).toFixed(1);
  appendFileSync(
    traceFile,
    `${(performance.timeOrigin + performance.now()).toFixed(2)} ${process.pid} ${label} cpu=${cpuMs}\n`,
  );
}
