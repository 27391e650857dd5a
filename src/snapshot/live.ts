import { pidAlive } from '../util/index.js';
import type { SnapshotInfo, Snapshotter } from './types.js';

/**
 * The active snapshots of builds, split by whether their build still runs (in any process): `system check` must
 * not call the live ones orphans, and a build's sweep removes the dead ones (as `system check --repair` does).
 * Here rather than in build/ because the engine's check needs it and must not load the builder; the labels are the
 * builder's (`wharf.build` on its step snapshots, `wharf.pid` on every active snapshot).
 */
export async function buildSnapshots(snapshots: Snapshotter): Promise<{ live: SnapshotInfo[]; dead: SnapshotInfo[] }> {
  const live: SnapshotInfo[] = [];
  const dead: SnapshotInfo[] = [];
  for await (const info of snapshots.walk()) {
    if (info.kind === 'committed' || info.labels['wharf.build'] === undefined) continue;
    (pidAlive(Number(info.labels['wharf.pid'])) ? live : dead).push(info);
  }
  return { live, dead };
}

/** Keys of the snapshots that builds still running use. */
export async function liveBuildSnapshots(snapshots: Snapshotter): Promise<Set<string>> {
  return new Set((await buildSnapshots(snapshots)).live.map((info) => info.key));
}
