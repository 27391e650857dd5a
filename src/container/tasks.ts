import { setTimeout as sleep } from 'node:timers/promises';
import { WharfError, is } from '../errors/index.js';
import {
  type Runc,
  attach as attachToMonitor,
  monitorPaths,
  readLogs,
  readState,
  stopContainer,
  type AttachOptions,
  type AttachSession,
  type ExecHandle,
  type LogEntry,
  type ReadLogsOptions,
  requestNoRestart,
  restartSettled,
  signalThroughMonitor,
  writeRestartPolicy,
} from '../runtime/index.js';
import { killEndsRestartLoop, monitorRestartPolicy, type RestartPolicy } from './restart-policy.js';
import { restoreContainers, type RestoreResult } from './restore.js';
import type { OciResources } from '../runtime/index.js';
import type { Intents } from '../meta/index.js';
import { testPausePoint, trace } from '../util/index.js';
import type { ContainerRecords } from './records.js';
import { observeContainer } from './state.js';
import { withContainerLock } from './container-lock.js';
import type { ContainerStore } from './store.js';
import type { ContainerRecord, ObservedContainer } from './types.js';
import type { VolumeService } from './volumes.js';
import type { EventLog } from '../events/index.js';
import { emitContainerEvent, signalNumber } from './events.js';
import { execInContainer, type ExecOptions } from './exec.js';
import { stopWithoutMonitor, tearDownTask, teardownPending, waitTornDown } from './teardown.js';
import { logPlan } from './run-modes.js';
import { monitorAlive, startTask, type StartedTask, type StartOptions } from './task-start.js';
import { recoverStarts } from './start-intent.js';

export type { StartOptions } from './task-start.js';

export interface TaskServiceOptions {
  store: ContainerStore;
  volumes: VolumeService;
  runc: Runc;
  /**
   * Rolls back what killed operations on the container left (a commit's pause), before it is looked at; true when it
   * rolled anything back (the record may have changed, or be gone).
   */
  recover?: (rec: ContainerRecord) => Promise<boolean>;
  /**
   * The IDs that `recover` may have work for (one query for a whole list), so a list of 200 containers does not ask
   * the database 200 times; without it every container is offered to `recover`.
   */
  recoveryCandidates?: () => ReadonlySet<string>;
  /** Where a start records its intent (start-intent.ts), so that a killed start is rolled back. */
  intents?: Intents;
}

const DEFAULT_STOP_TIMEOUT = 10;

/**
 * A container's task, as containerd calls the running part: the process run by runc under a per-container monitor
 * that outlives the CLI, from start to the teardown after its exit (run as the monitor's cleanup command, by the
 * attached client it hands that to, or inline when the monitor is gone), and what is done to it meanwhile.
 */
export class TaskService {
  readonly #runc: Runc;
  readonly #store: ContainerStore;
  readonly #records: ContainerRecords;
  readonly #volumes: VolumeService;
  readonly #events: EventLog | undefined;
  readonly #recover: TaskServiceOptions['recover'];
  readonly #recoveryCandidates: TaskServiceOptions['recoveryCandidates'];
  readonly #intents: Intents | undefined;

  constructor(opts: TaskServiceOptions) {
    this.#events = opts.store.events;
    this.#store = opts.store;
    this.#records = opts.store.records;
    this.#volumes = opts.volumes;
    this.#runc = opts.runc;
    this.#recover = opts.recover;
    this.#recoveryCandidates = opts.recoveryCandidates;
    this.#intents = opts.intents;
  }

  /** The record with its state checked against the monitor and runc (after recovering from killed operations). */
  async observe(rec: ContainerRecord): Promise<ObservedContainer> {
    const cur = await this.#recovered(rec);
    if (!cur) throw new WharfError('NOT_FOUND', `No such container: ${rec.id}`);
    return observeContainer(cur, this.#store.paths(rec.id).stateDir, this.#runc);
  }

  /** `observe` for many records (a list): the killed-operation check is one query, not one per container. */
  async observeAll(recs: readonly ContainerRecord[]): Promise<ObservedContainer[]> {
    const candidates = this.#recoveryCandidates?.();
    if (candidates) await this.#recoverRemoved(candidates);
    const seen = await Promise.all(
      recs.map(async (rec) => {
        const cur = !candidates || candidates.has(rec.id) ? await this.#recovered(rec) : rec;
        return cur && observeContainer(cur, this.#store.paths(rec.id).stateDir, this.#runc);
      }),
    );
    return seen.filter((c) => c !== undefined);
  }

  /**
   * The start notes of containers that are gone, left by a start that failed or was killed just before its
   * container's removal (a full disk that let the removal through but not the note's delete): no command looks at a
   * removed container, so a list, which sees every note, rolls them back (what the start made on the host is found by
   * the container's ID) and clears them. Best effort: a note that cannot go now (the disk still full) is the next
   * list's, and `system check` names it meanwhile; the list itself must not fail for it.
   */
  async #recoverRemoved(candidates: ReadonlySet<string>): Promise<void> {
    if (!this.#intents) return;
    const deps = { intents: this.#intents, runc: this.#runc, store: this.#store, events: this.#events };
    for (const id of candidates) if (!this.#records.get(id)) await recoverStarts(id, deps).catch(() => 0);
  }

  /**
   * The record after recovering from killed operations on it: read again when anything was rolled back (a rollback
   * changes the record, and removes an `--rm` container's); undefined once removed.
   */
  async #recovered(rec: ContainerRecord): Promise<ContainerRecord | undefined> {
    if (!(await this.#recover?.(rec))) return rec;
    return this.#records.get(rec.id);
  }

  async #get(idOrName: string): Promise<ObservedContainer> {
    return this.observe(this.#records.resolve(idOrName));
  }

  /** Start a created or exited container; with `attach`, the session streams its stdio. */
  async start(idOrName: string, opts: StartOptions = {}): Promise<StartedTask> {
    trace('start');
    const found = await this.#get(idOrName);
    if (found.running) {
      if (found.status === 'paused')
        throw new WharfError('CONFLICT', `cannot start a paused container, try unpause instead`);
      return { record: found };
    }
    // A previous run whose teardown did not happen (monitor killed) is torn down first. A container that never got as
    // far as its network (the first start of a fresh `run`) has nothing to clean.
    if (await teardownPending(this.#store, found.id))
      await waitTornDown(this.#store, found.id, 30_000, (id) => this.teardown(id)).catch(() => {});
    if (found.state.status !== 'created' || found.network)
      await this.#lockedIfAbandoned(found.id, 'starting', () => this.teardown(found.id, { keep: true }));
    return startTask(
      {
        store: this.#store,
        volumes: this.#volumes,
        runc: this.#runc,
        events: this.#events,
        intents: this.#intents,
        observe: (rec) => this.observe(rec),
        teardown: (id, o) => this.teardown(id, o),
        removeContainer: (id) => this.#removeContainer(id),
      },
      found.id,
      opts,
    );
  }

  /**
   * `attach`: stream a running container's stdio through its monitor's attach socket. The container's stdin closes
   * with the client's only if it was made so (StdinOnce); detaching leaves it running.
   */
  async attach(idOrName: string, opts: AttachOptions): Promise<{ record: ObservedContainer; session: AttachSession }> {
    const v = await this.#get(idOrName);
    // The docker CLI finds this itself (it inspects first): its error, printed bare.
    if (!v.running)
      throw new WharfError('CONFLICT', 'You cannot attach to a stopped container, start it first', {
        details: { clientSide: true },
      });
    if (v.status === 'paused')
      throw new WharfError('CONFLICT', 'You cannot attach to a paused container, unpause it first');
    const socket = monitorPaths(this.#store.paths(v.id).stateDir).socket;
    const session = await attachToMonitor(socket, { forwardEof: v.config.StdinOnce === true, ...opts });
    return { record: v, session };
  }

  /**
   * After the container exited (run by the monitor as its cleanup command, or inline when the monitor is gone):
   * record the exit, unmount the rootfs, release the network; remove an `--rm` container. Idempotent.
   */
  async teardown(id: string, opts: { keep?: boolean; error?: string } = {}): Promise<void> {
    await tearDownTask(this.#runc, this.#store, this.#events, id, opts);
  }

  /**
   * The task's end before its container is removed (containerd's task delete): a running task is refused unless
   * `force`, which stops it at once; a teardown in progress is waited for, one that never ran is done.
   */
  async delete(idOrName: string, opts: { force?: boolean } = {}): Promise<void> {
    const rec = this.#records.resolve(idOrName);
    return this.#lockedIfAbandoned(rec.id, 'removing', () => this.#delete(rec, opts));
  }

  /**
   * `fn` under the container's lock (container-lock.ts) when its record says running and no monitor is there to tear
   * it down: `system check --repair` may be tearing it down at this moment (check.ts), under the same lock. A repair
   * that went on under a `start` would record the new run's end; under an `rm`, fail on the removed record.
   */
  async #lockedIfAbandoned<T>(id: string, what: string, fn: () => Promise<T>): Promise<T> {
    const rec = this.#records.get(id);
    if (rec?.state.status !== 'running' || (await monitorAlive(this.#store, rec))) return fn();
    return withContainerLock(this.#store.paths(id).dir, id, fn, {
      timeoutSec: 60,
      purpose: `${what} container ${id.slice(0, 12)}`,
    });
  }

  async #delete(rec: ContainerRecord, opts: { force?: boolean }): Promise<void> {
    const v = await this.observe(rec);
    if (v.running) {
      if (!opts.force) {
        throw new WharfError(
          'CONFLICT',
          `You cannot remove a ${v.status} container ${rec.id}. Stop the container before attempting removal or force remove`,
        );
      }
      // Removal must not race the monitor's own --rm teardown: mark the record as not auto-removing first (a
      // database write, on the path to the kill: only when there is something to change).
      if (rec.hostConfig.AutoRemove)
        this.#records.update(rec.id, (r) => {
          r.hostConfig.AutoRemove = false;
        });
      // Docker's `rm -f`: a kill, no stop event.
      await this.#stop(rec.id, { timeoutSec: 0 });
    } else if (await teardownPending(this.#store, rec.id)) {
      // Exited, and its monitor's teardown is running right now: let it finish rather than race it.
      await waitTornDown(this.#store, rec.id, 30_000, (id) => this.teardown(id)).catch(() => {});
    }
    await this.teardown(rec.id, { keep: true });
    testPausePoint('rm:before-delete'); // torn down; the caller deletes the record and the files next
  }

  /** An `--rm` container whose start failed: removed with its anonymous volumes. */
  async #removeContainer(id: string): Promise<void> {
    const rec = this.#records.resolve(id);
    await this.delete(id, { force: true });
    await this.#store.delete(rec, { volumes: true });
  }

  async stop(idOrName: string, opts: { timeoutSec?: number; signal?: string } = {}): Promise<ContainerRecord> {
    const v = await this.#get(idOrName);
    if (!v.running) return v;
    const stopped = await this.#stop(v.id, opts);
    emitContainerEvent(this.#events, 'stop', v);
    return stopped;
  }

  /** The stop signal, SIGKILL after the timeout, the teardown; the kill events, not the stop event. */
  async #stop(idOrName: string, opts: { timeoutSec?: number; signal?: string }): Promise<ContainerRecord> {
    const v = await this.#get(idOrName);
    if (!v.running) return v;
    const timeoutSec = opts.timeoutSec ?? v.config.StopTimeout ?? DEFAULT_STOP_TIMEOUT;
    const signal = normalizeSignal(opts.signal ?? v.config.StopSignal ?? 'SIGTERM');
    const p = this.#store.paths(v.id);
    if (await monitorAlive(this.#store, v)) {
      // Attached with the cleanup claimed before the signal: the exit frame says when the container is gone (no
      // polling), and the teardown happens here instead of in a cleanup process the monitor would start (a whole
      // Node start-up). Without the socket (the monitor is just finishing), the monitor's own cleanup is waited for.
      const claim = await attachToMonitor(monitorPaths(p.stateDir).socket, { claimCleanup: true }).catch(
        () => undefined,
      );
      let final: Awaited<ReturnType<typeof stopContainer>>;
      try {
        final = await stopContainer({
          runc: this.#runc,
          id: v.id,
          stateDir: p.stateDir,
          signal,
          timeoutSec,
          onSignal: (sig) => emitContainerEvent(this.#events, 'kill', v, { signal: signalNumber(sig) }),
          ...(claim ? { exit: claim.exit } : {}),
          mayBePaused: v.status === 'paused' || v.state.paused === true,
        });
      } finally {
        claim?.detach(); // the monitor need not wait for this client to go
      }
      testPausePoint('stop:after-kill'); // the container is dead, its teardown (claimed by this process) not done
      trace('stop: exit seen');
      if (final.cleanupBy === process.pid && !final.cleanedUp) await this.teardown(v.id);
      // Else the teardown runs as a separate process (the monitor's cleanup command); the record says exited once
      // it finished.
      else await waitTornDown(this.#store, v.id, 30_000, (id) => this.teardown(id));
    } else {
      await stopWithoutMonitor(this.#runc, this.#events, v, signal, timeoutSec);
      await this.teardown(v.id);
    }
    // Docker's HasBeenManuallyStopped: an unless-stopped container stays down at `system restore`.
    if (!this.#records.get(v.id)) return v;
    return this.#records.update(v.id, (r) => {
      r.manuallyStopped = true;
    });
  }

  /**
   * A new restart policy for a running container's monitor, read at its next exit (ContainerService.setRestartPolicy
   * stores it in the record first). Nothing to tell when no monitor runs: the next start reads the record.
   */
  async tellRestartPolicy(id: string, policy: RestartPolicy): Promise<void> {
    const rec = this.#records.resolve(id);
    if (!(await monitorAlive(this.#store, rec))) return;
    writeRestartPolicy(this.#store.paths(rec.id).stateDir, monitorRestartPolicy(policy));
  }

  /** Docker's restart: stop, then start again (its events: those of both, then `restart`). */
  async restart(idOrName: string, opts: { timeoutSec?: number; signal?: string } = {}): Promise<ContainerRecord> {
    const stopped = await this.stop(idOrName, opts);
    const { record } = await this.start(stopped.id);
    emitContainerEvent(this.#events, 'restart', record);
    return record;
  }

  async kill(idOrName: string, signal = 'SIGKILL'): Promise<void> {
    // dockerd checks the signal before it looks the container up.
    const sig = normalizeSignal(signal);
    const v = await this.#get(idOrName).catch((err: unknown) => {
      // dockerd words every kill failure so: "Cannot kill container: x: No such container: x".
      throw is(err, 'NOT_FOUND')
        ? new WharfError('NOT_FOUND', `Cannot kill container: ${idOrName}: ${(err as Error).message}`)
        : err;
    });
    if (!v.running)
      throw new WharfError('CONFLICT', `Cannot kill container: ${idOrName}: Container ${v.id} is not running`);
    const stateDir = this.#store.paths(v.id).stateDir;
    // Told to the monitor before the signal is sent.
    if (killEndsRestartLoop(sig, v.config.StopSignal ? normalizeSignal(v.config.StopSignal) : undefined))
      requestNoRestart(stateDir);
    // dockerd (20.10) counts any kill as a stop by hand: an unless-stopped container stays down at its restart.
    this.#records.update(v.id, (r) => {
      r.manuallyStopped = true;
    });
    // Between runs: the monitor ends the loop at its next look, unless its next run was already on its way.
    if (v.status === 'restarting' && (await restartSettled(stateDir))?.status !== 'running') return;
    emitContainerEvent(this.#events, 'kill', v, { signal: signalNumber(sig) });
    try {
      // Sent by the monitor where it can (no exec of runc for the same kill(2)); exited meanwhile: Docker's kill
      // then succeeds without a signal.
      const monitor = await readState(stateDir);
      const viaMonitor = monitor?.signalFrames
        ? await signalThroughMonitor(monitorPaths(stateDir).socket, sig)
        : 'unavailable';
      if (viaMonitor !== 'unavailable') return;
      await this.#runc.kill(v.id, sig);
    } catch (err) {
      // Exited meanwhile (a restart loop's run ends any moment): Docker's kill then succeeds without a signal.
      const s = await readState(stateDir);
      if (s && s.status !== 'running' && s.status !== 'starting') return;
      throw err;
    }
  }

  /** `system restore`: starts the `always`/`unless-stopped` containers whose run-time state was lost (restore.ts). */
  restore(): Promise<RestoreResult> {
    return restoreContainers(
      this.#store,
      (id) => this.#get(id),
      (id) => this.start(id),
    );
  }

  /** `wait`: block until the container is not running; its exit code. */
  async wait(idOrName: string, opts: { signal?: AbortSignal } = {}): Promise<number> {
    const rec = this.#records.resolve(idOrName);
    const p = this.#store.paths(rec.id);
    let restartsBefore: number | undefined;
    for (;;) {
      const cur = this.#records.get(rec.id);
      if (!cur) {
        const monitorState = await readState(p.stateDir);
        return monitorState?.exitCode ?? 0;
      }
      const v = await this.observe(cur);
      if (!v.running) return v.state.exitCode;
      // Docker's wait also ends at an exit that the restart policy follows with a restart, with that exit's code.
      restartsBefore ??= v.restartCount;
      if (v.restartCount > restartsBefore) {
        if (v.status === 'restarting') return v.state.exitCode;
        return (await readState(p.stateDir))?.lastExitCode ?? 0;
      }
      if (opts.signal?.aborted) throw new WharfError('CANCELLED', 'wait cancelled');
      await sleep(v.hostConfig.RestartPolicy && v.hostConfig.RestartPolicy.Name !== 'no' ? 50 : 100);
    }
  }

  /** `docker update` of a running container: its cgroup limits changed in place by runc. */
  async updateResources(id: string, resources: OciResources): Promise<void> {
    await this.#runc.update(id, resources);
  }

  async pause(idOrName: string): Promise<void> {
    const v = await this.#get(idOrName);
    if (!v.running) throw new WharfError('CONFLICT', `Container ${v.id} is not running`);
    if (v.status === 'restarting') throw restartingError(v.id);
    if (v.status === 'paused') throw new WharfError('CONFLICT', `Container ${v.id} is already paused`);
    await this.#runc.pause(v.id);
    this.#records.update(v.id, (r) => {
      r.state.paused = true;
    });
    emitContainerEvent(this.#events, 'pause', v);
  }

  async unpause(idOrName: string): Promise<void> {
    const v = await this.#get(idOrName);
    if (v.status !== 'paused') throw new WharfError('CONFLICT', `Container ${v.id} is not paused`);
    await this.#runc.resume(v.id);
    this.#records.update(v.id, (r) => {
      r.state.paused = false;
    });
    emitContainerEvent(this.#events, 'unpause', v);
  }

  logs(idOrName: string, opts: ReadLogsOptions = {}): AsyncGenerator<LogEntry> {
    const rec = this.#records.resolve(idOrName);
    if (!logPlan(rec.hostConfig.LogConfig).enabled)
      throw new WharfError('FAILED_PRECONDITION', 'configured logging driver does not support reading');
    let restartsBefore: number | undefined;
    return readLogs(this.#store.paths(rec.id).log, {
      ...opts,
      stopWhen: async () => {
        const r = this.#records.get(rec.id);
        if (!r) return true;
        const v = await this.observe(r);
        // As Docker's, a follow ends at the container's exit also when its restart policy restarts it.
        restartsBefore ??= v.restartCount;
        return !v.running || v.restartCount > restartsBefore;
      },
    });
  }

  async exec(idOrName: string, opts: ExecOptions): Promise<ExecHandle> {
    const v = await this.#get(idOrName);
    if (!v.running) throw new WharfError('CONFLICT', `Container ${v.id} is not running`);
    if (v.status === 'restarting') throw restartingError(v.id);
    if (v.status === 'paused')
      throw new WharfError('CONFLICT', `Container ${v.id} is paused, unpause the container before exec`);
    return execInContainer(this.#runc, this.#events, v, this.#store.paths(v.id), opts);
  }

  /** Host PIDs of the container's processes. */
  async pids(idOrName: string): Promise<number[]> {
    const v = await this.#get(idOrName);
    if (!v.running) throw new WharfError('CONFLICT', `Container ${v.id} is not running`);
    return this.#runc.ps(v.id);
  }
}

/** Docker's refusal of pause and exec between two runs of a restart policy. */
const restartingError = (id: string): WharfError =>
  new WharfError('CONFLICT', `Container ${id} is restarting, wait until the container is running`);

/** `KILL`, `SIGKILL`, `9` → what runc accepts. */
export function normalizeSignal(s: string): string {
  const t = s.trim().toUpperCase();
  if (/^\d+$/.test(t) && Number(t) > 0) return t;
  const name = t.startsWith('SIG') ? t.slice(3) : t;
  // moby/sys/signal's ParseSignal: a number but 0, or a name of its Linux SignalMap, in its words.
  const rt = /^RT(MIN|MAX)([+-]\d+)?$/.exec(name);
  const rtOk =
    rt && (rt[2] === undefined || (rt[1] === 'MIN' ? /^\+([1-9]|1[0-5])$/ : /^-([1-9]|1[0-4])$/).test(rt[2]));
  if (!LINUX_SIGNALS.has(name) && !rtOk) throw new WharfError('INVALID_ARGUMENT', `Invalid signal: ${s}`);
  return `SIG${name}`;
}

const LINUX_SIGNALS = new Set(
  'ABRT ALRM BUS CHLD CLD CONT FPE HUP ILL INT IO IOT KILL PIPE POLL PROF PWR QUIT SEGV STKFLT STOP SYS TERM TRAP TSTP TTIN TTOU URG USR1 USR2 VTALRM WINCH XCPU XFSZ'.split(
    ' ',
  ),
);
