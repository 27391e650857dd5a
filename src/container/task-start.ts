import { WharfError } from '../errors/index.js';
import { resolveInRoot } from '../archive/index.js';
import {
  type Runc,
  keepHealthResults,
  readHealth,
  readState,
  startMonitor,
  waitExit,
  type AttachOptions,
  type AttachSession,
  type StartedMonitor,
} from '../runtime/index.js';
import type { Intents } from '../meta/index.js';
import { ownerToHost, removeTreeSync, testPausePoint, trace } from '../util/index.js';
import { holdUserns, releaseUserns } from '../snapshot/index.js';
import { ensureSearchable } from './userns.js';
import { relayListening, startNetwork, writeBundleSpec, type DeferredProxy } from './bundle.js';
import { healthProbe } from './health.js';
import { isoNow } from './state.js';
import type { ContainerStore } from './store.js';
import type { ContainerRecord, ObservedContainer } from './types.js';
import { resolveLinks } from './link-env.js';
import type { VolumeService } from './volumes.js';
import { shortId } from '../digest/index.js';
import type { EventLog } from '../events/index.js';
import { emitContainerEvent, emitVolumeEvents } from './events.js';
import { taskMonitorOptions } from './monitor-options.js';
import { START_INTENT, type StartIntent } from './start-intent.js';

export interface StartOptions {
  /** Attach these streams before the process starts (`run` without -d, `start -a`). */
  attach?: AttachOptions;
  consoleSize?: { cols: number; rows: number };
}

/** What a start needs of TaskService: its store and runtime, and the task operations it falls back on. */
export interface TaskStartDeps {
  store: ContainerStore;
  volumes: VolumeService;
  runc: Runc;
  events: EventLog | undefined;
  /** Where the start records its intent (start-intent.ts); without it a killed start is found by nobody. */
  intents: Intents | undefined;
  observe: (rec: ContainerRecord) => Promise<ObservedContainer>;
  teardown: (id: string, opts?: { keep?: boolean; error?: string }) => Promise<void>;
  /** An `--rm` container whose start failed: removed with its anonymous volumes. */
  removeContainer: (id: string) => Promise<void>;
}

export interface StartedTask {
  record: ContainerRecord;
  session?: AttachSession;
  monitorPid?: number;
}

/**
 * The start itself, of a container whose previous run is torn down: the rootfs and volumes mounted, the network, the
 * bundle's spec, the record claiming "running", then the monitor that runs runc and outlives the CLI. All of it under
 * a start intent (start-intent.ts), so that a start killed anywhere in between is rolled back by the next command or
 * `system check --repair`; a start that fails undoes itself. Named stop points for the fault tests: `start:…`
 * (docs/development.md).
 */
export async function startTask(deps: TaskStartDeps, id: string, opts: StartOptions): Promise<StartedTask> {
  const { store, volumes, events } = deps;
  const records = store.records;
  const rec = records.resolve(id);
  const p = store.paths(rec.id);
  const hc = rec.hostConfig;
  const intent = deps.intents?.begin<StartIntent>(START_INTENT, rec.id, {});
  let proxy: DeferredProxy | undefined; // the IPv6 relay starts while the container does
  try {
    const rootfs = await store.mountRootfs(rec);
    testPausePoint('start:after-mount');
    for (const m of rec.mounts) {
      if (m.Type !== 'volume' || !m.Name) continue;
      const v = volumes.get(m.Name);
      if (!v) throw new WharfError('NOT_FOUND', `volume ${m.Name} of container ${shortId(rec.id)} is gone`);
      await volumes.mountDevice(m.Name);
      const root = rec.idMap ? ownerToHost(rec.idMap, 0, 0) : undefined;
      if (!v.seeded) await volumes.seed(m.Name, await resolveInRoot(rootfs, m.Destination), root);
    }
    if (rec.idMap) {
      ensureSearchable(store.root, [
        p.dir,
        ...rec.mounts.filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Source),
      ]);
      releaseUserns(p.userns); // a previous run's, if its teardown never came
      holdUserns(rec.idMap, p.userns);
    }
    const links = await resolveLinks(rec, async (name) => {
      const other = records.tryResolve(name);
      return other && deps.observe(other);
    });
    const net = await startNetwork(
      rec,
      p,
      (bridge) => {
        records.update(rec.id, (r) => {
          r.network = bridge;
        });
      },
      links.lookup,
      rec.idMap ? p.userns : undefined,
      (p) => {
        proxy = p;
      },
      store.networks,
    );
    const shm = hc.IpcMode === 'shareable' ? await store.mountShm(rec) : undefined;
    await writeBundleSpec(
      rec,
      p,
      rootfs,
      net,
      opts.consoleSize,
      (other, what) => peer(deps, other, what),
      shm,
      links.env,
    );
    testPausePoint('start:before-running');
    emitVolumeEvents(events, 'mount', rec);
    if (opts.attach) emitContainerEvent(events, 'attach', rec);
    // Claim "running" before the monitor exists: its teardown, however fast, then always lands after this.
    // A start is Docker's manual start: the restart count begins again and a manual stop is forgotten.
    records.update(rec.id, (r) => {
      r.network = net;
      r.state = { status: 'running', exitCode: 0, startedAt: isoNow(), paused: false };
      r.restartCount = 0;
      delete r.manuallyStopped;
    });
    const health = healthProbe(rec.config);
    const healthBefore = health ? readHealth(p.stateDir)?.Log : undefined;
    removeTreeSync(p.stateDir); // a few small files of the previous run
    if (healthBefore) keepHealthResults(p.stateDir, healthBefore);
    trace('spec written');
    testPausePoint('start:after-running');
    let started: StartedMonitor;
    try {
      started = await startMonitor(
        taskMonitorOptions({
          rec,
          paths: p,
          runcRoot: deps.runc.root,
          storeRoot: store.root,
          events,
          health,
          network: net,
          ...(opts.consoleSize ? { consoleSize: opts.consoleSize } : {}),
          ...(opts.attach ? { attach: opts.attach } : {}),
        }),
      );
    } catch (err) {
      // The monitor records the failure and runs the teardown itself; wait for it so that nothing runs twice.
      await waitExit(p.stateDir, 30_000).catch(() => undefined);
      await deps.teardown(rec.id, { keep: true }).catch(() => {});
      // Over before the container may go: a note that the full disk keeps is then rolled back by the removal's own
      // look at the container (meta/intents.ts), not left naming a removed one. The catch below clears it again.
      try {
        if (intent) deps.intents?.clearFailed(intent.id);
      } catch {}
      if (hc.AutoRemove) await deps.removeContainer(rec.id).catch(() => {});
      throw err;
    }
    testPausePoint('start:after-monitor');
    const record = records.update(rec.id, (r) => {
      if (r.state.status === 'running' && !r.state.finishedAt) {
        r.state.monitorPid = started.monitorPid;
        if (started.containerPid) r.state.pid = started.containerPid;
        if (started.state.startedAt) r.state.startedAt = started.state.startedAt;
      }
    });
    // The monitor owns the container from here: a kill of this process no longer leaves anything to undo.
    if (intent) deps.intents?.clear(intent.id);
    if (proxy) await relayListening(proxy, (fn) => records.update(rec.id, fn));
    trace('started');
    // The monitor emitted `start` (native/monitor/events.c): only it can order it before a fast command's die.
    const session = started.session ? teardownAfter(deps, rec.id, started.session) : undefined;
    return { record, monitorPid: started.monitorPid, ...(session ? { session } : {}) };
  } catch (err) {
    // Undo a half-done start (mount, network) unless a monitor is alive and will do it itself.
    const cur = records.get(rec.id);
    if (cur && !(await monitorAlive(store, cur)))
      await deps.teardown(rec.id, { keep: true, error: (err as Error).message }).catch(() => {});
    // A note that the full disk keeps is rolled back by the next look at the container, this process's included
    // (`run` removes it right away: meta/intents.ts). The database's error then is the one reported: it says that the
    // disk is full and where, which the start's own may not (runc's "unable to store init state").
    if (intent) deps.intents?.clearFailed(intent.id);
    throw err;
  }
}

/** The container's monitor runs (its state file says so and its process is there). */
export async function monitorAlive(store: ContainerStore, rec: ContainerRecord): Promise<boolean> {
  const monitorState = await readState(store.paths(rec.id).stateDir);
  return monitorState !== undefined && monitorState.status !== 'exited';
}

/** A running container whose namespace another joins (`--ipc`/`--pid container:X`): its PID and IPC mode. */
async function peer(
  deps: TaskStartDeps,
  nameOrId: string,
  what: 'IPC' | 'PID' | 'network',
): Promise<{ pid: number; ipcMode: string; shm: string }> {
  const other = await deps.observe(deps.store.records.resolve(nameOrId));
  if (!other.running || !other.state.pid)
    throw new WharfError('CONFLICT', `cannot join ${what} of a non running container: ${nameOrId}`);
  return { pid: other.state.pid, ipcMode: other.hostConfig.IpcMode ?? 'private', shm: deps.store.shmPath(other.id) };
}

/** A session whose exit resolves once this process did the teardown the monitor delegated to it (its cleanup). */
function teardownAfter(deps: TaskStartDeps, id: string, session: AttachSession): AttachSession {
  const exit = session.exit.then(async (r) => {
    if (!r.cleanupDelegated) return r;
    try {
      trace('exit seen');
      await deps.teardown(id);
      trace('torn down');
      return r;
    } catch (err) {
      return { ...r, cleanupError: err instanceof Error ? err : new Error(String(err)) };
    }
  });
  return { ...session, exit };
}
