import { readFileSync } from 'node:fs';
import { pidAlive } from './process.js';

/** A process named so that a PID the kernel hands out again later is not taken for it: its PID and start time. */
export interface ProcessOwner {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot); undefined where /proc cannot tell. */
  startTime: number | undefined;
}

/**
 * The start time of a process from /proc/<pid>/stat. The command name (field 2) is in parentheses and may hold
 * spaces and parentheses itself, so the fields are counted from its last ')'.
 */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(fields[19]); // field 22 overall: fields 3… start at index 0
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** This process, as an owner to record. */
export function currentOwner(): ProcessOwner {
  return { pid: process.pid, startTime: processStartTime(process.pid) };
}

/** Whether the recorded owner still runs: its PID is alive and, where both are known, started at the same time. */
export function ownerAlive(owner: ProcessOwner): boolean {
  if (!pidAlive(owner.pid)) return false;
  if (owner.startTime === undefined) return true;
  const now = processStartTime(owner.pid);
  return now === undefined || now === owner.startTime;
}
