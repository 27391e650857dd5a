import { shortId } from '../digest/index.js';
import { IMAGE_IN_KINDS, type CheckProblem } from '../image/index.js';
import { LockBusyError } from '../util/index.js';
import { COMMIT_INTENT, rollBackCommit, type CommitIntent, type CommitRecovery } from './commit-intent.js';
import type { ContainerRecords } from './records.js';
import type { IntentRecord } from '../meta/index.js';
import {
  BUILD_STEP_INTENT,
  buildStepLeftovers,
  rollBackBuildStep,
  type BuildStepIntent,
  type BuildStepRecovery,
} from './build-intent.js';
import type { UsernsRanges } from './userns.js';
import { existsSync } from 'node:fs';
import { networkLeftovers, readHostNetworkState, teardownNetwork, type HostNetworkState } from '../network/index.js';
import {
  START_INTENT,
  containersInStart,
  describeStart,
  rollBackStartLocked,
  startLeftovers,
  type StartIntent,
  type StartRecovery,
} from './start-intent.js';
import { tearDownTask, teardownAbandoned } from './teardown.js';
import { withContainerLock } from './container-lock.js';

/**
 * `system check`'s part about containers and interrupted operations: intents whose owner process is gone (rolled
 * back with `repair` where their kind is known: commits, build steps), and containers runc has frozen while Wharf's record says they run
 * and no live commit holds them (a killed commit from before intents existed, or a runc pause from outside); `repair`
 * resumes them. Nothing a live process holds is touched: each container is looked at under its commit lock, taken
 * without waiting (a few seconds for a stale intent's).
 */
export async function checkContainers(
  records: ContainerRecords,
  containerDir: (id: string) => string,
  deps: CommitRecovery,
  repair: boolean,
  userns?: UsernsRanges,
  buildSteps?: BuildStepRecovery,
  starts?: StartRecovery,
): Promise<CheckProblem[]> {
  const problems: CheckProblem[] = [];
  for (const intent of deps.intents.stale()) {
    if (IMAGE_IN_KINDS.includes(intent.kind)) continue; // image/transfer-intent.ts checks those
    const what = `${intent.kind} of ${shortId(intent.subject)} by process ${intent.owner.pid} (gone), since ${intent.created}: ${JSON.stringify(intent.payload)}`;
    if (intent.kind === BUILD_STEP_INTENT && buildSteps) {
      const fresh = deps.intents.get<BuildStepIntent>(intent.id); // another process may have rolled it back
      if (fresh) problems.push(await checkBuildStep(fresh, buildSteps, repair));
      continue;
    }
    if (intent.kind === START_INTENT && starts) {
      const fresh = deps.intents.get<StartIntent>(intent.id);
      if (fresh) problems.push(await checkStart(fresh, starts, repair));
      continue;
    }
    if (intent.kind !== COMMIT_INTENT) {
      problems.push({ kind: 'stale', what: `unfinished ${what}` });
      continue;
    }
    const rec = records.get(intent.subject);
    let repaired = false;
    if (repair) {
      const undo = async () => {
        const fresh = deps.intents.get<CommitIntent>(intent.id);
        if (fresh) await rollBackCommit(fresh, deps, rec?.state.paused === true);
        repaired = true;
      };
      // A removed container has no lock file (its directory is gone) and nobody can commit it any more.
      // Waiting a little: a commit killed just now holds its lock until its flock(1) child has noticed.
      await (rec ? underCommitLock(containerDir(rec.id), rec.id, undo, 5) : undo());
    }
    problems.push({ kind: 'stale', what: `unfinished ${what}`, repaired });
  }
  problems.push(...orphanRanges(records, containerDir, userns, repair));
  for (const rec of records.all()) {
    if (rec.state.status !== 'running' || rec.state.paused) continue;
    await underCommitLock(containerDir(rec.id), rec.id, async () => {
      if ((await deps.runc.tryState(rec.id).catch(() => undefined))?.status !== 'paused') return;
      let repaired = false;
      if (repair) {
        await deps.runc.resume(rec.id);
        repaired = true;
      }
      problems.push({
        kind: 'stale',
        what: `container ${shortId(rec.id)} (${rec.name}) is frozen by runc, but neither paused nor being committed`,
        repaired,
      });
    });
  }
  return problems;
}

/**
 * A build step whose builder was killed: what it left running and mounted is named (a running RUN container, the
 * rootfs mount, the snapshot), and `repair` kills, unmounts and removes it in that order (build-intent.ts).
 */
async function checkBuildStep(
  intent: IntentRecord<BuildStepIntent>,
  deps: BuildStepRecovery,
  repair: boolean,
): Promise<CheckProblem> {
  const left = await buildStepLeftovers(intent.payload, deps);
  const what = `unfinished build step ${intent.subject} by process ${intent.owner.pid} (gone), since ${intent.created}: ${left.length ? left.join(', ') : 'nothing left but the note'}`;
  return staleIntent(what, repair, () => rollBackBuildStep(intent, deps));
}

/**
 * User-namespace ranges whose container is gone (a create killed half way): freed with `repair` once the container's
 * directory is gone too (create makes the directory before it takes a range, so a create in progress is never hit).
 */
function orphanRanges(
  records: ContainerRecords,
  containerDir: (id: string) => string,
  userns: UsernsRanges | undefined,
  repair: boolean,
): CheckProblem[] {
  const out: CheckProblem[] = [];
  for (const { id, map } of userns?.all() ?? []) {
    // A build step's range (`build-<step>`) is the build sweep's: it knows whether its build still runs.
    if (records.get(id) || id.startsWith('build-')) continue;
    const free = repair && !existsSync(containerDir(id));
    if (free) userns?.release(id);
    out.push({
      kind: 'orphan',
      what: `user namespace range ${map.uid[0]?.hostID}+${map.uid[0]?.size} of container ${shortId(id)}, which does not exist`,
      repaired: free,
    });
  }
  return out;
}

/** Run `fn` unless a live commit of the container holds its lock (then that commit owns the container's state). */
async function underCommitLock(dir: string, id: string, fn: () => Promise<void>, waitSec = 0): Promise<void> {
  try {
    await withContainerLock(dir, id, fn, { timeoutSec: waitSec, purpose: `checking container ${shortId(id)}` });
  } catch (err) {
    if (!(err instanceof LockBusyError)) throw err;
  }
}

/** A start whose process was killed: what it left (start-intent.ts), undone with `repair`. */
async function checkStart(
  intent: IntentRecord<StartIntent>,
  deps: StartRecovery,
  repair: boolean,
): Promise<CheckProblem> {
  const what = describeStart(intent, await startLeftovers(intent.subject, deps));
  return staleIntent(what, repair, () => rollBackStartLocked(intent, deps));
}

/**
 * `system check`'s part about the network and teardown of containers that do not run:
 * - a record that says running while nothing runs and nobody tears the container down (`rm -f` or `stop` killed
 *   after their kill: teardownAbandoned), with what it still holds; `repair` does the teardown;
 * - a namespace, veth, default-bridge lease or published-port rule still on the host for a container whose record
 *   says it does not run (a teardown killed half-way, a crash of the host's Wharf process); `repair` tears it down
 *   (teardownNetwork is idempotent and finds what is left by the container's ID).
 * Running containers are not looked at (their network is in use), nor containers with a start intent: a live start's
 * are in the making, a killed start's are checkContainers' (start-intent.ts).
 */
export async function checkContainerNetworks(deps: StartRecovery, repair: boolean): Promise<CheckProblem[]> {
  const { store, runc } = deps;
  const inStart = containersInStart(deps.intents);
  const candidates = store.records.all().filter((r) => !inStart.has(r.id));
  if (candidates.length === 0) return [];
  let host: HostNetworkState | undefined;
  const problems: CheckProblem[] = [];
  for (const rec of candidates) {
    const ifNames = (rec.network?.endpoints ?? []).map((e) => e.ifName);
    if (rec.state.status === 'running') {
      if (!(await teardownAbandoned(runc, store, rec.id))) continue;
      host ??= await readHostNetworkState();
      const left = networkLeftovers(rec.id, ifNames, host);
      if (await store.rootfsMounted(rec.id)) left.unshift('its root file system mounted');
      let repaired = false;
      if (repair)
        // Under the container's lock, looked at again there: an `rm` or `start` of it (its monitor is gone:
        // container-lock.ts) may be tearing it down right now, or have removed or started it.
        repaired = await withContainerLock(
          store.paths(rec.id).dir,
          rec.id,
          async () => {
            // A `start` that waited for the lock may be starting it now (its intent is recorded after the lock).
            if (containersInStart(deps.intents).has(rec.id)) return;
            if (await teardownAbandoned(runc, store, rec.id)) await tearDownTask(runc, store, deps.events, rec.id);
          },
          { timeoutSec: 30, purpose: `repairing container ${shortId(rec.id)}` },
        ).then(
          () => true,
          () => false,
        );
      problems.push({
        kind: 'stale',
        what: `container ${shortId(rec.id)} (${rec.name}) is recorded as running, but nothing runs and its teardown did not finish${left.length ? `: ${left.join(', ')}` : ''}`,
        ...(repair ? { repaired } : {}),
      });
      continue;
    }
    host ??= await readHostNetworkState();
    const left = networkLeftovers(rec.id, ifNames, host);
    if (left.length === 0) continue;
    let repaired = false;
    if (repair)
      repaired = await teardownNetwork(rec.id, rec.network).then(
        async () => networkLeftovers(rec.id, ifNames, await readHostNetworkState()).length === 0,
        () => false,
      );
    problems.push({
      kind: 'orphan',
      what: `network of stopped container ${shortId(rec.id)} still on the host: ${left.join(', ')}`,
      ...(repair ? { repaired } : {}),
    });
  }
  return problems;
}

/** An intent whose owner is gone, as `system check` reports it; with `repair`, once rolled back (or why it could not be). */
async function staleIntent(what: string, repair: boolean, rollBack: () => Promise<void>): Promise<CheckProblem> {
  if (!repair) return { kind: 'stale', what, repaired: false };
  try {
    await rollBack();
    return { kind: 'stale', what, repaired: true };
  } catch (err) {
    return { kind: 'stale', what: `${what} (cannot undo: ${(err as Error).message})`, repaired: false };
  }
}
