import { promises as fsp } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { EventLog } from '../events/index.js';
import { buildExecProcess, startExec, type ExecHandle, type OciSpec, type Runc } from '../runtime/index.js';
import { randomHex } from '../util/index.js';
import { limitToHostBoundingSet, readAccountFiles } from './bundle.js';
import { emitContainerEvent } from './events.js';
import type { ContainerPaths } from './paths.js';
import type { ContainerRecord } from './types.js';

export interface ExecOptions {
  cmd: string[];
  env?: string[];
  workdir?: string;
  user?: string;
  tty?: boolean;
  privileged?: boolean;
  detach?: boolean;
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  consoleSize?: { cols: number; rows: number };
  /** `exec --detach-keys` (with -it): the sequence that detaches the CLI and leaves the process running. */
  detachKeys?: Buffer;
}

/**
 * `exec` in a running container (the caller checked that it runs): the process from the container's own spec with
 * the caller's changes, started by runc, with Docker's exec_create/exec_start/exec_die events.
 */
export async function execInContainer(
  runc: Runc,
  events: EventLog | undefined,
  v: ContainerRecord,
  p: ContainerPaths,
  opts: ExecOptions,
): Promise<ExecHandle> {
  const spec = JSON.parse(await fsp.readFile(p.config, 'utf8')) as OciSpec;
  const proc = buildExecProcess(spec.process, {
    args: opts.cmd,
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.user ? { user: opts.user, ...readAccountFiles(p.rootfs) } : {}),
    ...(opts.workdir ? { workdir: opts.workdir } : {}),
    tty: opts.tty === true,
    ...(opts.consoleSize ? { consoleSize: { width: opts.consoleSize.cols, height: opts.consoleSize.rows } } : {}),
    privileged: opts.privileged === true,
  });
  limitToHostBoundingSet(proc);
  // Docker's exec events carry the command line in their Action ("exec_start: sh -c true") and an exec ID.
  const execID = randomHex(32);
  const what = `${opts.cmd[0] ?? ''} ${opts.cmd.slice(1).join(' ')}`;
  emitContainerEvent(events, `exec_create: ${what}`, v, { execID });
  emitContainerEvent(events, `exec_start: ${what}`, v, { execID });
  const handle = await startExec({
    runc: runc,
    id: v.id,
    process: proc,
    ...(opts.stdin ? { stdin: opts.stdin } : {}),
    ...(opts.stdout ? { stdout: opts.stdout } : {}),
    ...(opts.stderr ? { stderr: opts.stderr } : {}),
    detach: opts.detach === true,
    ...(opts.detachKeys ? { detachKeys: opts.detachKeys } : {}),
    ...(opts.consoleSize ? { consoleSize: opts.consoleSize } : {}),
  });
  if (!opts.detach) {
    // A detached exec's end is not seen by this process: no exec_die for it.
    void handle.exit.then(
      // Detached from (detach keys): its end is not seen by this process either.
      (code) => {
        if (!handle.detached) emitContainerEvent(events, 'exec_die', v, { execID, exitCode: String(code) });
      },
      () => {},
    );
  }
  return handle;
}
