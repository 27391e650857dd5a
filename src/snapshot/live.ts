import { pidAlive } from '../util/index.js';
import type { Snapshotter } from './types.js';

/**
 * Keys of the snapshots that builds still running (in any process) use: `system check` must not call them orphans.
 * Those of dead builds are left out: the next build, or `system check --repair`, removes them. Here rather than in
 * build/ because the engine's check needs it and must not load the builder; the labels are the builder's
 * (`wharf.build` on its step snapshots, `wharf.pid` on every active snapshot).
 */
export async function liveBuildSnapshots(snapshots: Snapshotter): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const info of snapshots.walk()) {
    if (info.kind === 'committed' || info.labels['wharf.build'] === undefined) continue;
    const pid = Number(info.labels['wharf.pid']);
    if (pidAlive(pid)) keys.add(info.key);
  }
  return keys;
}
