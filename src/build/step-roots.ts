import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Digest } from '../digest/index.js';
import type { SourceRef } from '../dockerfile/index.js';
import { WharfError, is } from '../errors/index.js';
import type { LayerRecord } from '../image/index.js';
import { mountAll, unmount } from '../snapshot/index.js';
import type { SourceRoot } from './copy.js';
import { newStepId, type BuildScope, type StageState } from './scope.js';
import { BUILD_STEP_INTENT, type BuildStepIntent } from '../container/build-intent.js';
import { testPausePoint } from '../util/index.js';
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

/** What a step does besides its work in the snapshot. */
export interface StepSnapshotOptions<T> {
  /** A RUN step's container ID, recorded in the step's intent: a later command kills what a killed build left running. */
  container?: string;
  /** After the work, before the layer is made: looks at (and tidies) the upper dir. */
  after?: (upper: string, r: T) => Promise<void>;
  /** Records the step's image for its layer (undefined: no change); the step's intent is cleared only after it. */
  record: (layer: LayerRecord | undefined, r: T) => Promise<void>;
  /** A RUN step: remapped, as a container, under the engine's `userns-remap` (step-userns.ts). */
  remap?: boolean;
}

/**
 * A writable snapshot on the stage's top layer, mounted for `fn`; afterwards its upper dir becomes the layer
 * (undefined when the step changed nothing), which `record` puts in an image. The snapshot is removed on any failure.
 * An intent (container/build-intent.ts) says what the step mounts and starts before it does, so that a build killed
 * at any point leaves a note the next build or `system check --repair` rolls back.
 */
export async function withStepSnapshot<T>(
  scope: BuildScope,
  state: StageState,
  fn: (rootfs: string, workDir: string, userns?: StepUserns) => Promise<T>,
  o: StepSnapshotOptions<T>,
): Promise<void> {
  const { deps, opts } = scope;
  const id = newStepId();
  const dir = path.join(deps.runRoot, 'build', id.slice(0, 16));
  const rootfs = path.join(dir, 'rootfs');
  const key = `build-${id}`;
  const payload: BuildStepIntent = { snapshot: key, rootfs, dir, ...(o.container ? { container: o.container } : {}) };
  const intent = scope.intents.begin(BUILD_STEP_INTENT, key, payload);
  const parent = state.chain[state.chain.length - 1];
  const snaps = deps.snapshots;
  let committed = false;
  let undone = true;
  let userns: ReturnType<typeof openStepUserns>;
  try {
    await fsp.mkdir(rootfs, { recursive: true });
    await fsp.writeFile(path.join(dir, 'owner'), String(process.pid));
    // After the owner file: a killed build's range is found by its step directory's owner.
    if (o.remap) userns = openStepUserns(deps, id, dir);
    const mounts = await snaps.prepare(key, parent, buildLabels(rootfs));
    let result: T;
    await mountStepRootfs(mounts, rootfs, userns, path.join(dir, 'idmap'));
    try {
      result = await fn(rootfs, dir, userns);
    } finally {
      await unmount(rootfs, { lazy: opts.signal?.aborted ?? false });
    }
    const upper = snaps.differ.diffDir(key);
    if (o.after) await o.after(upper, result);
    if (userns) await shiftOwnersBack(upper, userns.map);
    testPausePoint('build:before-layer');
    let layer: LayerRecord | undefined;
    if ((await fsp.readdir(upper)).length > 0) {
      const tarOpts = opts.timestamp ? { clampMtime: opts.timestamp } : {};
      layer = await deps.images.layers.commitSnapshot(key, parent ?? null, tarOpts);
      committed = true;
      scope.intents.update(intent, { ...payload, layer: layer.chainId });
    }
    testPausePoint('build:before-image');
    try {
      await o.record(layer, result);
    } catch (err) {
      // No image took the layer (a full disk fails the image record): it would stay, unused, on the full disk.
      if (layer) undone = await dropUnusedLayer(scope, layer.chainId);
      throw err;
    }
  } finally {
    if (!committed)
      undone = await snaps.remove(key).then(
        () => true,
        (err: unknown) => is(err, 'NOT_FOUND'),
      );
    userns?.close();
    await fsp.rm(dir, { recursive: true, force: true }).catch(() => {});
    // What could not be undone (the database of a full disk cannot even record a deletion) stays in the intent: the
    // next command, once this process is gone, rolls it back.
    if (undone) scope.intents.clear(intent.id);
  }
}

/**
 * Remove a layer no image took. On a full disk even the database write of the removal fails: then the layer's files
 * go first (nothing can use a layer no image has), which makes room for the write. Whether it is gone.
 */
async function dropUnusedLayer(scope: BuildScope, chainId: Digest): Promise<boolean> {
  const { images, snapshots } = scope.deps;
  try {
    await images.layers.release([chainId]);
    return true;
  } catch {
    if (images.records.layers.users(chainId) > 0) return true;
    const files = snapshots.differ.diffDir(chainId);
    for (const n of await fsp.readdir(files).catch(() => []))
      await fsp.rm(path.join(files, n), { recursive: true, force: true });
    return images.layers.release([chainId]).then(
      () => true,
      () => false,
    );
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
