import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Digest } from '../digest/index.js';
import type { SourceRef } from '../dockerfile/index.js';
import { WharfError, is } from '../errors/index.js';
import type { LayerRecord } from '../image/index.js';
import { mountAll, unmount } from '../snapshot/index.js';
import type { SourceRoot } from './copy.js';
import { newStepId, type BuildScope, type StageState } from './scope.js';
import { mountStepRootfs, openStepUserns, shiftOwnersBack, type StepUserns } from './step-userns.js';

/**
 * The file systems a step works on: the writable snapshot whose changes become its layer, and the trees it reads
 * from (the context, a stage's or an image's rootfs, heredoc files). Each is labelled with the build's PID so that
 * the sweep of a later build removes what a killed one left.
 */

/** The labels of a build's snapshot: `wharf.build` marks it, `wharf.pid` tells whether its build still runs. */
const buildLabels = (rootfs: string) => ({
  labels: { 'wharf.pid': String(process.pid), 'wharf.build': '1', 'wharf.build.mount': rootfs },
});

/**
 * A writable snapshot on the stage's top layer, mounted for `fn`; afterwards its upper dir becomes the layer
 * (undefined when the step changed nothing). The snapshot is removed on any failure.
 */
export async function withStepSnapshot<T>(
  scope: BuildScope,
  state: StageState,
  fn: (rootfs: string, workDir: string, userns?: StepUserns) => Promise<T>,
  after?: (upper: string, r: T) => Promise<void>,
  /** A RUN step: remapped, as a container, under the engine's `userns-remap` (step-userns.ts). */
  remap = false,
): Promise<{ layer: LayerRecord | undefined; result: T }> {
  const { deps, opts } = scope;
  const id = newStepId();
  const dir = path.join(deps.runRoot, 'build', id.slice(0, 16));
  const rootfs = path.join(dir, 'rootfs');
  await fsp.mkdir(rootfs, { recursive: true });
  await fsp.writeFile(path.join(dir, 'owner'), String(process.pid));
  const key = `build-${id}`;
  const parent = state.chain[state.chain.length - 1];
  const snaps = deps.snapshots;
  let committed = false;
  const userns = remap ? openStepUserns(deps, id, dir) : undefined;
  try {
    const mounts = await snaps.prepare(key, parent, buildLabels(rootfs));
    let result: T;
    await mountStepRootfs(mounts, rootfs, userns, path.join(dir, 'idmap'));
    try {
      result = await fn(rootfs, dir, userns);
    } finally {
      await unmount(rootfs, { lazy: opts.signal?.aborted ?? false });
    }
    const upper = snaps.differ.diffDir(key);
    if (after) await after(upper, result);
    if (userns) await shiftOwnersBack(upper, userns.map);
    if ((await fsp.readdir(upper)).length === 0) return { layer: undefined, result };
    const tarOpts = opts.timestamp ? { clampMtime: opts.timestamp } : {};
    const layer = await deps.images.layers.commitSnapshot(key, parent ?? null, tarOpts);
    committed = true;
    return { layer, result };
  } finally {
    if (!committed) await snaps.remove(key).catch(() => {});
    userns?.close();
    await fsp.rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** Several source roots at once (undefined entries stay undefined; null is the context). */
export async function withSourceRoots(
  scope: BuildScope,
  refs: (SourceRef | null | undefined)[],
  fn: (roots: (SourceRoot | undefined)[]) => Promise<void>,
  acc: (SourceRoot | undefined)[] = [],
): Promise<void> {
  if (acc.length === refs.length) return fn(acc);
  const ref = refs[acc.length];
  if (ref === undefined) return withSourceRoots(scope, refs, fn, [...acc, undefined]);
  return withSourceRoot(scope, ref ?? undefined, (root) => withSourceRoots(scope, refs, fn, [...acc, root]));
}

/** `COPY <<EOF /dest`: each heredoc becomes a file (mode 0644) in a temp dir that serves as the source. */
export async function withHeredocRoot(
  scope: BuildScope,
  docs: ReadonlyArray<{ path: string; data: string }>,
  fn: (src: SourceRoot) => Promise<void>,
): Promise<void> {
  const dir = path.join(scope.deps.runRoot, 'build', `heredoc-${newStepId().slice(0, 16)}`);
  await fsp.mkdir(dir, { recursive: true });
  try {
    for (const d of docs) {
      await fsp.writeFile(path.join(dir, path.basename(d.path)), d.data, { mode: 0o644 });
      // A fixed mtime keeps the checksum and the layer the same from build to build.
      await fsp.utimes(path.join(dir, path.basename(d.path)), 0, 0);
    }
    await fn({ root: dir, kind: 'stage', include: () => true, hidden: () => false });
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** The context, or a read-only mount of a stage's or image's rootfs for COPY --from. */
export async function withSourceRoot(
  scope: BuildScope,
  from: SourceRef | undefined,
  fn: (src: SourceRoot) => Promise<void>,
): Promise<void> {
  const { deps, opts } = scope;
  if (!from) {
    const ctx = opts.context;
    return fn({
      root: ctx.root,
      kind: 'context',
      include: (rel, isDir) => ctx.includedForWalk(rel, isDir),
      hidden: (rel) => ctx.excluded(rel),
      digests: scope.digests,
    });
  }
  let chain: Digest[] = [];
  if (from.kind === 'stage') chain = scope.finished.get(from.index)?.chain ?? [];
  else if (from.kind === 'image') {
    const rec = deps.images.tryResolve(from.ref);
    if (!rec) throw new WharfError('NOT_FOUND', `COPY --from: image ${from.ref} is not in the local store`);
    chain = deps.images.records.images.chain(rec.id);
  }
  const id = newStepId();
  const dir = path.join(deps.runRoot, 'build', `src-${id.slice(0, 16)}`);
  const rootfs = path.join(dir, 'rootfs');
  await fsp.mkdir(rootfs, { recursive: true });
  const key = `build-view-${id}`;
  const top = chain[chain.length - 1];
  try {
    if (top) {
      await mountAll(await deps.snapshots.view(key, top, buildLabels(rootfs)), rootfs);
    }
    try {
      await fn({ root: rootfs, kind: 'stage', include: () => true, hidden: () => false });
    } finally {
      if (top) await unmount(rootfs);
    }
  } finally {
    if (top) await deps.snapshots.remove(key).catch((err) => (is(err, 'NOT_FOUND') ? undefined : Promise.reject(err)));
    await fsp.rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}
