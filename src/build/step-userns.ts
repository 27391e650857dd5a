import { chmodSync, lchownSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { walkTree } from '../archive/index.js';
import { UsernsRanges, readSubordinateIds, usernsRequest, ensureSearchable } from '../container/userns.js';
import { WharfError } from '../errors/index.js';
import type { MountRequest } from '../runtime/index.js';
import {
  holdUserns,
  idmapBindOne,
  mountAll,
  mountIdmapped,
  detachIdmapBind,
  releaseUserns,
  type Mount,
} from '../snapshot/index.js';
import { pidAlive, tarOwnerOf, type IdMap } from '../util/index.js';
import type { BuilderDeps } from './types.js';

/**
 * A RUN step under the engine-wide `userns-remap`, as dockerd remaps its build containers: the step gets a range of
 * subordinate ids of its own (the containers' table, `userns_ranges`, keyed `build-<step id>`, so no container shares
 * it), a user namespace held by Wharf for the step, its lower layers mounted idmapped (as a container's) and, before
 * its layer is committed, the owners of its upper dir shifted back into the step's own ids (root as 0) with the one
 * rule commit and export use (tarOwnerOf). So the stored layer, its digest and the cache are what they are without
 * remapping. Without `userns-remap`, none of this happens.
 */

export interface StepUserns {
  readonly map: IdMap;
  /** The user namespace file runc joins (the spec's `linux.namespaces` user path). */
  readonly path: string;
  /**
   * The step's `--mount` binds (cache directories, context binds, heredoc files) through idmapped binds, so that the
   * step sees their owners as a plain step does (a cache dir's root-owned files as root's, not `nobody`'s) and what it
   * writes to a cache is stored with its own ids. Detached by `close`.
   */
  bindMounts(mounts: readonly MountRequest[]): MountRequest[];
}

/**
 * The range key of a step in `userns_ranges`: its snapshot's key (a container's key is its 64-hex ID; this one cannot
 * collide). `system check` leaves these to the build sweep (sweepStepUserns).
 */
export const STEP_RANGE_PREFIX = 'build-';
const rangeKey = (stepId: string): string => `${STEP_RANGE_PREFIX}${stepId}`;
/** A step's directory (step-roots.ts: `<runRoot>/build/<first 16 of its id>`, its build's PID in `owner`). */
const stepDirOf = (runRoot: string, stepId: string): string => path.join(runRoot, 'build', stepId.slice(0, 16));

/**
 * The step's remapped user namespace when the engine remaps (else undefined): a range allocated and a namespace held
 * under the step's directory `dir`; `close` gives both back (the build calls it whatever happens to the step).
 */
export function openStepUserns(
  deps: Pick<BuilderDeps, 'db' | 'root' | 'runRoot' | 'usernsRemap'>,
  stepId: string,
  dir: string,
): (StepUserns & { close(): void }) | undefined {
  if (!deps.usernsRemap) return undefined;
  const req = usernsRequest(undefined, deps.usernsRemap, readSubordinateIds);
  if (!req.subIds) return undefined;
  const ranges = new UsernsRanges(deps.db);
  const key = rangeKey(stepId);
  const map = ranges.allocate(key, req.size, req.subIds, req.user);
  const file = path.join(dir, 'userns');
  // The sweep finds a killed build's range by this directory (its `owner` is written before the range is taken).
  if (dir !== stepDirOf(deps.runRoot, stepId)) throw new WharfError('INTERNAL', `unexpected step directory ${dir}`);
  try {
    // The step's root (an unprivileged host uid) must reach its rootfs and bundle through Wharf's directories.
    // (From the Wharf root, as a container's, when the run root is inside it; else from the run root.)
    ensureSearchable(dir.startsWith(`${deps.root}/`) ? deps.root : deps.runRoot, [dir]);
    holdUserns(map, file);
  } catch (err) {
    ranges.release(key);
    throw err;
  }
  const binds: string[] = [];
  return {
    map,
    path: file,
    bindMounts: (mounts) =>
      mounts.map((m) => {
        if (m.type !== 'bind') return m;
        const target = path.join(dir, 'idmap-binds', String(binds.length));
        idmapBindOne(m.source, target, map, statSync(m.source).isDirectory());
        binds.push(target);
        return { ...m, source: target };
      }),
    close: () => {
      for (const b of binds) detachIdmapBind(b);
      releaseUserns(file);
      ranges.release(key);
    },
  };
}

/** The step's snapshot mounted on `rootfs`: its lower layers idmapped into the step's range when it has one. */
export async function mountStepRootfs(
  mounts: readonly Mount[],
  rootfs: string,
  userns: StepUserns | undefined,
  scratch: string,
): Promise<void> {
  if (!userns) return mountAll([...mounts], rootfs);
  try {
    await mountIdmapped(mounts, rootfs, userns.map, scratch);
  } catch (err) {
    if (err instanceof WharfError && err.code === 'UNSUPPORTED')
      throw new WharfError(
        'UNSUPPORTED',
        `userns-remap: a RUN step needs idmapped overlay layers (Linux 5.19 or later, the overlay snapshotter): ${err.message}`,
      );
    throw err;
  }
}

/**
 * The step's upper dir with each owner shifted back from the step's host ids to its own (tarOwnerOf: what the step's
 * root wrote is 0; what the host's root made, overlayfs' whiteouts, stays 0), so the committed layer, read as it is by
 * later steps and the layer tar, holds the same owners as without remapping. chown clears setuid/setgid: put back.
 */
export async function shiftOwnersBack(upper: string, map: IdMap): Promise<void> {
  const back = tarOwnerOf(map);
  const top = lstatSync(upper);
  const o = back(top.uid, top.gid);
  lchownSync(upper, o.uid, o.gid);
  for await (const e of walkTree(upper)) {
    const to = back(e.st.uid, e.st.gid);
    if (to.uid === e.st.uid && to.gid === e.st.gid) continue;
    lchownSync(e.abs, to.uid, to.gid);
    if (e.st.mode & 0o6000 && !e.st.isSymbolicLink()) chmodSync(e.abs, e.st.mode & 0o7777);
  }
}

/**
 * What killed builds left of their steps' user namespaces (each build starts with the sweep): for every step range
 * whose build is not alive (its directory's `owner` PID), the idmapped binds and the held namespace under the step's
 * directory are detached and the range given back, before the sweep removes the directory.
 */
export function sweepStepUserns(deps: Pick<BuilderDeps, 'db' | 'runRoot'>): number {
  const ranges = new UsernsRanges(deps.db);
  let n = 0;
  for (const { id } of ranges.all()) {
    if (!id.startsWith(STEP_RANGE_PREFIX)) continue;
    const dir = stepDirOf(deps.runRoot, id.slice(STEP_RANGE_PREFIX.length));
    let owner = 0;
    try {
      owner = Number(readFileSync(path.join(dir, 'owner'), 'utf8'));
    } catch {
      // gone: nothing alive holds it
    }
    if (owner && pidAlive(owner)) continue;
    let binds: string[] = [];
    try {
      binds = readdirSync(path.join(dir, 'idmap-binds'));
    } catch {
      // none made
    }
    for (const b of binds) detachIdmapBind(path.join(dir, 'idmap-binds', b));
    releaseUserns(path.join(dir, 'userns'));
    ranges.release(id);
    n++;
  }
  return n;
}
