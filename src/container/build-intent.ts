import { promises as fsp } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { shortId, type Digest } from '../digest/index.js';
import { is } from '../errors/index.js';
import type { LayerStore } from '../image/index.js';
import type { IntentRecord, Intents } from '../meta/index.js';
import type { Runc } from '../runtime/index.js';
import { isMountPoint, unmount, type Snapshotter } from '../snapshot/index.js';

/**
 * The intent of one build step that works on a writable snapshot (RUN, COPY, WORKDIR…); its subject is the step's
 * snapshot key. Recorded by the builder before it prepares the snapshot, cleared once the step's image is recorded.
 * Here rather than in build/ because `system check` (the engine) rolls them back and must not load the builder.
 */
export const BUILD_STEP_INTENT = 'build-step';

/** What a build step mounts and starts, so that whoever finds its builder dead can undo it. */
export interface BuildStepIntent {
  /** The active snapshot the step writes into. */
  snapshot: string;
  /** Where the snapshot is mounted (the step's rootfs). */
  rootfs: string;
  /** The step's private directory (bundle, /etc files, the rootfs mount point), removed at the end. */
  dir: string;
  /** A RUN step's runc container (in the root's runc state directory), which may outlive a killed build. */
  container?: string;
  /** The layer the step committed, not yet part of an image. */
  layer?: Digest;
}

export interface BuildStepRecovery {
  intents: Intents;
  runc: Runc;
  snapshots: Snapshotter;
  layers: LayerStore;
  /** How many images and layers use a layer (ImageRecords.layers.users). */
  layerUsers: (chainId: string) => number;
}

/** What a killed build step left that is still there: a running container, a mount, a snapshot, a layer. */
export async function buildStepLeftovers(p: BuildStepIntent, deps: BuildStepRecovery): Promise<string[]> {
  const out: string[] = [];
  if (p.container) {
    const st = await deps.runc.tryState(p.container).catch(() => undefined);
    if (st) out.push(`build container ${shortId(p.container)} ${st.status}${st.pid ? ` (PID ${st.pid})` : ''}`);
  }
  if (await isMountPoint(p.rootfs).catch(() => false)) out.push(`mount on ${p.rootfs}`);
  if (await deps.snapshots.stat(p.snapshot)) out.push(`snapshot ${p.snapshot}`);
  if (p.layer && deps.layers.get(p.layer) && deps.layerUsers(p.layer) === 0) out.push(`layer ${p.layer} of no image`);
  return out;
}

/**
 * Undo what a killed build step left, in the order that never pulls a file system from under a process: kill its
 * container and wait until runc has it stopped, delete it, unmount the rootfs, then remove the snapshot, the layer
 * no image took, and the directory. The intent goes last, so a rollback killed half-way is taken up again.
 */
export async function rollBackBuildStep(intent: IntentRecord<BuildStepIntent>, deps: BuildStepRecovery): Promise<void> {
  const p = intent.payload;
  if (p.container) await stopContainer(deps.runc, p.container);
  await unmount(p.rootfs);
  if (await deps.snapshots.stat(p.snapshot)) {
    await deps.snapshots.remove(p.snapshot).catch((err: unknown) => {
      if (!is(err, 'NOT_FOUND')) throw err;
    });
  }
  if (p.layer && deps.layers.get(p.layer)) await deps.layers.release([p.layer]);
  await fsp.rm(p.dir, { recursive: true, force: true });
  deps.intents.clear(intent.id);
}

/**
 * Roll back every build step whose builder is gone; returns what each rollback found. Cheap when there are none. A
 * rollback that fails (a mount something else keeps busy) leaves its intent for a later try and does not fail the
 * caller: one stuck leftover must not stop every later build.
 */
export async function recoverBuildSteps(deps: BuildStepRecovery): Promise<string[]> {
  const done: string[] = [];
  for (const i of deps.intents.stale<BuildStepIntent>(BUILD_STEP_INTENT)) {
    try {
      const left = await buildStepLeftovers(i.payload, deps);
      // Read again: another process may have rolled it back meanwhile (rolling back twice is harmless).
      const fresh = deps.intents.get<BuildStepIntent>(i.id);
      if (!fresh) continue;
      await rollBackBuildStep(fresh, deps);
      done.push(...left);
    } catch {
      // `system check` names it and says why.
    }
  }
  return done;
}

/** SIGKILL to every process of the container, wait (bounded) until runc says it stopped, then delete it. */
async function stopContainer(runc: Runc, id: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const st = await runc.tryState(id);
    if (!st) return;
    if (st.status === 'stopped') break;
    // A paused container takes the kill once thawed; runc kill --all thaws nothing.
    if (st.status === 'paused') await runc.resume(id).catch(() => {});
    await runc.kill(id, 'SIGKILL', { all: true }).catch(() => {});
    await sleep(50);
  }
  await runc.delete(id, { force: true });
}
