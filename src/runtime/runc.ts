import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { WharfError, type ErrorCode } from '../errors/index.js';
import { run, type RunResult } from '../util/index.js';
import type { OciResources } from './oci-spec.js';

export type RuncStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** `runc state` output. */
export interface RuncState {
  ociVersion: string;
  id: string;
  pid: number;
  status: RuncStatus;
  bundle: string;
  rootfs: string;
  created: string;
  owner?: string;
  annotations?: Record<string, string>;
}

export interface RuncOptions {
  /** runc's state directory (`--root`), one per Wharf run root, e.g. `/run/wharf/runc`. */
  root: string;
  /** The runc binary (default `runc` from PATH). */
  binary?: string;
}

/** `runc events --stats` data (cgroup counters), as far as `docker stats` needs it. */
export interface RuncStats {
  cpu?: {
    usage?: { total?: number; kernel?: number; user?: number; percpu?: number[] };
    throttling?: Record<string, number>;
  };
  memory?: {
    usage?: { usage?: number; max?: number; limit?: number; failcnt?: number };
    cache?: number;
    raw?: Record<string, number>;
  };
  pids?: { current?: number; limit?: number };
  blkio?: Record<string, unknown>;
  network_interfaces?: unknown;
}

/** The message of the last `level=error` entry runc wrote (text or JSON log format), else the last stderr line. */
export function runcErrorMessage(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (line.startsWith('{')) {
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string };
        if (entry.level === 'error' && entry.msg) return entry.msg;
      } catch {
        /* not JSON: fall through */
      }
      continue;
    }
    const m = /level=error msg="((?:[^"\\]|\\.)*)"/.exec(line);
    if (m) return JSON.parse(`"${m[1]}"`) as string;
  }
  return lines[lines.length - 1] ?? '';
}

/** Docker's mapping of start failures: 127 for a missing command, 126 for one that cannot run. */
export function classifyRuncError(message: string): { code: ErrorCode; exitCode: number } {
  if (/exec: .*: executable file not found/.test(message) || /exec: .*no such file or directory/.test(message)) {
    return { code: 'COMMAND_NOT_FOUND', exitCode: 127 };
  }
  if (
    /exec: .*permission denied/.test(message) ||
    /exec format error/.test(message) ||
    /exec: .*is a directory/.test(message)
  ) {
    return { code: 'COMMAND_NOT_EXECUTABLE', exitCode: 126 };
  }
  if (/does not exist/.test(message)) return { code: 'NOT_FOUND', exitCode: 125 };
  if (/already exists/.test(message)) return { code: 'ALREADY_EXISTS', exitCode: 125 };
  if (/not running|is paused|is not paused|cannot .* (stopped|paused)|container .* is stopped/.test(message)) {
    return { code: 'FAILED_PRECONDITION', exitCode: 125 };
  }
  return { code: 'INTERNAL', exitCode: 128 };
}

export function runcError(action: string, id: string, output: string): WharfError {
  const msg = runcErrorMessage(output) || `runc ${action} failed`;
  const { code, exitCode } = classifyRuncError(msg);
  return new WharfError(code, `runc ${action} ${id}: ${msg}`, { details: { id, action, exitCode, runcMessage: msg } });
}

/**
 * A thin wrapper over the runc binary: argument arrays only, errors mapped to WharfError codes. The verbs that start a
 * container (create/start/run, and exec's process) belong to the monitor (native/monitor/runc.c), which owns the
 * container's stdio; this class has what the engine does to a container from outside.
 */
export class Runc {
  readonly root: string;
  readonly binary: string;

  constructor(opts: RuncOptions) {
    this.root = opts.root;
    this.binary = opts.binary ?? 'runc';
  }

  /** Global flags first: every call uses Wharf's own state directory. */
  args(...rest: string[]): string[] {
    return ['--root', this.root, ...rest];
  }

  private async call(action: string, id: string, rest: string[], input?: string): Promise<RunResult> {
    await fsp.mkdir(this.root, { recursive: true, mode: 0o700 });
    const res = await run(this.binary, this.args(...rest), { check: false, ...(input !== undefined ? { input } : {}) });
    if (res.code !== 0) throw runcError(action, id, res.stderr + '\n' + res.stdout);
    return res;
  }

  async state(id: string): Promise<RuncState> {
    const res = await this.call('state', id, ['state', id]);
    return JSON.parse(res.stdout) as RuncState;
  }

  /** The state, or undefined when runc does not know the container. */
  async tryState(id: string): Promise<RuncState | undefined> {
    try {
      return await this.state(id);
    } catch (err) {
      if (err instanceof WharfError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }

  async kill(id: string, signal: string | number = 'SIGTERM', opts: { all?: boolean } = {}): Promise<void> {
    const a = ['kill'];
    if (opts.all) a.push('--all');
    await this.call('kill', id, [...a, id, String(signal)]);
  }

  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    // Without its state directory runc knows no such container: skip the fork (cleanup paths call this often).
    if (opts.force && !(await runcStateExists(this.root, id))) return;
    const a = ['delete'];
    if (opts.force) a.push('--force');
    await this.call('delete', id, [...a, id]);
  }

  /** Freeze every process of the container (cgroup freezer). */
  async pause(id: string): Promise<void> {
    await this.call('pause', id, ['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.call('resume', id, ['resume', id]);
  }

  async list(): Promise<RuncState[]> {
    const res = await this.call('list', '', ['list', '--format', 'json']);
    const parsed = JSON.parse(res.stdout.trim() || 'null') as RuncState[] | null;
    return parsed ?? [];
  }

  /** Change a running container's cgroup limits (`runc update --resources -`: an OCI LinuxResources document). */
  async update(id: string, resources: OciResources): Promise<void> {
    await this.call('update', id, ['update', '--resources', '-', id], JSON.stringify(resources));
  }

  /** One sample of the container's cgroup counters. */
  async stats(id: string): Promise<RuncStats> {
    const res = await this.call('events', id, ['events', '--stats', id]);
    const parsed = JSON.parse(res.stdout.trim() || '{}') as { data?: RuncStats };
    return parsed.data ?? {};
  }

  /** Host PIDs of every process in the container. */
  async ps(id: string): Promise<number[]> {
    const res = await this.call('ps', id, ['ps', '--format', 'json', id]);
    return (JSON.parse(res.stdout.trim() || 'null') as number[] | null) ?? [];
  }
}

/** runc keeps a container's state in `<root>/<id>`; without it, `runc delete` has nothing to do (and costs a fork). */
export async function runcStateExists(root: string, id: string): Promise<boolean> {
  return existsSync(path.join(root, id));
}
