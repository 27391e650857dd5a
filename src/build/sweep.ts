import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { buildSnapshots, unmount } from '../snapshot/index.js';
import { pidAlive } from '../util/index.js';
import { recoverBuildSteps } from '../container/build-intent.js';
import type { Intents } from '../meta/index.js';
import { Runc } from '../runtime/index.js';
import { RuncStepRunner, type StepRunner } from './run-step.js';
import { sweepStepUserns } from './step-userns.js';
import type { BuilderDeps } from './types.js';

/**
 * What builds that died (SIGKILL) left: their RUN containers (killed and deleted), mounts and active snapshots.
 * A build's directories carry its PID in `owner`, its snapshots in `wharf.pid`, so live builds in other processes
 * are left alone. Returns the number of snapshots removed.
 */
export async function sweepDeadBuilds(deps: BuilderDeps, runner: StepRunner, intents: Intents): Promise<number> {
  const buildDir = path.join(deps.runRoot, 'build');
  // First what killed builds noted in their intents: their containers, mounts, snapshots and unfinished layers.
  const runc = runner instanceof RuncStepRunner ? runner.runc : new Runc({ root: path.join(deps.runRoot, 'runc') });
  await recoverBuildSteps({
    intents,
    runc,
    snapshots: deps.snapshots,
    layers: deps.images.layers,
    layerUsers: (c) => deps.images.records.layers.users(c),
  });
  // Then what builds from before intents left (their directories and snapshot labels carry their PID).
  if (runner instanceof RuncStepRunner) {
    const containers = await runc.list().catch(() => []);
    for (const c of containers) {
      if (!c.bundle.startsWith(`${buildDir}/`)) continue;
      const owner = Number(await fsp.readFile(path.join(path.dirname(c.bundle), 'owner'), 'utf8').catch(() => '0'));
      if (pidAlive(owner)) continue;
      await runc.kill(c.id, 'SIGKILL', { all: true }).catch(() => {});
      await runc.delete(c.id, { force: true }).catch(() => {});
    }
  }
  sweepStepUserns(deps); // a remapped step's namespace, binds and range (before its directory goes)
  const { dead } = await buildSnapshots(deps.snapshots);
  for (const info of dead) {
    const dir = info.labels['wharf.build.mount'];
    if (dir) await unmount(dir, { lazy: true }).catch(() => {});
    await deps.snapshots.remove(info.key).catch(() => {});
    if (dir) await fsp.rm(path.dirname(dir), { recursive: true, force: true }).catch(() => {});
  }
  return dead.length;
}
