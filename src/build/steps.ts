import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { shortId } from '../digest/index.js';
import type { Instruction, ResolvedStep, SourceRef } from '../dockerfile/index.js';
import { WharfError } from '../errors/index.js';
import { commandArgv, nextWorkdir } from '../image/index.js';
import { resolveInRoot } from '../archive/index.js';
import type { MountRequest } from '../runtime/index.js';
import { cacheMountDir } from './cache-mounts.js';
import { combinedHash, copyInto, destinationPath, resolveChown, selectSources, type SourceRoot } from './copy.js';
import { applyMetadata, nopCommand, nopCommandString, runRecordedArgv } from './metadata.js';
import { removeMountpoints } from './run-step.js';
import { newStepId, type BuildScope, type StageState } from './scope.js';
import { commitStep, probe } from './step-cache.js';
import { withHeredocRoot, withSourceRoot, withSourceRoots, withStepSnapshot } from './step-roots.js';
import { BuildStepFailed } from './types.js';

/**
 * One step of a stage, by instruction kind: RUN runs a container on a writable snapshot, COPY/ADD and WORKDIR
 * change files without one, and the other instructions only change the config. Each step first asks the cache.
 */
export async function runStep(scope: BuildScope, state: StageState, step: ResolvedStep): Promise<void> {
  const inst = step.instruction;
  switch (inst.kind) {
    case 'RUN':
      return runRun(scope, state, step, inst);
    case 'COPY':
    case 'ADD':
      return runCopy(scope, state, step, inst);
    case 'WORKDIR':
      return runWorkdir(scope, state, inst.path);
    case 'FROM':
      throw new WharfError('INTERNAL', 'FROM inside a stage');
    default: {
      const rc = structuredClone(state.rc);
      const meta = { ...state.meta };
      const comment = applyMetadata(rc, inst.kind === 'ARG' ? argAsWritten(scope, inst) : inst, meta);
      if (comment === undefined) throw new WharfError('UNSUPPORTED', `${inst.kind} is not supported by the builder`);
      const cmd = nopCommand(rc, comment);
      // The step's key and its image carry the MAINTAINER it sets (both read state.meta), so it is set first.
      state.meta = meta;
      if (await probe(scope, state, cmd, {}, rc)) return;
      const cid = newStepId();
      state.io.say(` ---> Running in ${shortId(cid)}`);
      await commitStep(scope, state, rc, cmd, undefined, {});
      state.io.say(`Removing intermediate container ${shortId(cid)}`);
    }
  }
}

/**
 * Docker records an ARG with its Dockerfile default, not the --build-arg value, so that the step (and its cache)
 * does not depend on the value: RUN steps record the values they see instead.
 */
function argAsWritten(scope: BuildScope, inst: Extract<Instruction, { kind: 'ARG' }>): Instruction {
  const given = scope.opts.buildArgs ?? {};
  if (!inst.args.some((a) => a.key in given)) return inst;
  const written = scope.parsed.stages
    .flatMap((s) => s.instructions)
    .find((i) => i.kind === 'ARG' && i.range.start === inst.range.start && i.original === inst.original);
  if (written?.kind !== 'ARG') return inst;
  return {
    ...inst,
    args: inst.args.map((a) => {
      if (!(a.key in given)) return a;
      const w = written.args.find((x) => x.key === a.key);
      return w?.value === undefined ? { key: a.key } : { key: a.key, value: w.value };
    }),
  };
}

async function runWorkdir(scope: BuildScope, state: StageState, requested: string): Promise<void> {
  const rc = structuredClone(state.rc);
  rc.WorkingDir = nextWorkdir(rc.WorkingDir, requested);
  const cmd = nopCommandString(rc, `WORKDIR ${rc.WorkingDir}`);
  if (await probe(scope, state, cmd, {}, rc)) return;
  const cid = newStepId();
  state.io.say(` ---> Running in ${shortId(cid)}`);
  await withStepSnapshot(
    scope,
    state,
    async (rootfs) => {
      const abs = await resolveInRoot(rootfs, rc.WorkingDir!);
      await fsp.mkdir(abs, { recursive: true, mode: 0o755 });
    },
    { record: (layer) => commitStep(scope, state, rc, cmd, layer, {}) },
  );
  state.io.say(`Removing intermediate container ${shortId(cid)}`);
}

async function runRun(
  scope: BuildScope,
  state: StageState,
  step: ResolvedStep,
  inst: Extract<Instruction, { kind: 'RUN' }>,
): Promise<void> {
  const { opts } = scope;
  const rc = state.rc;
  const argv = commandArgv(rc, inst.command);
  const cmd = runRecordedArgv(argv, step.buildArgs);
  for (const m of inst.mounts) {
    if (m.type === 'secret' || m.type === 'ssh')
      throw new WharfError('UNSUPPORTED', `RUN --mount=type=${m.type} is not supported yet`);
    if (m.type === 'cache' && m.from !== undefined)
      throw new WharfError('UNSUPPORTED', 'RUN --mount=type=cache,from=… is not supported yet');
  }
  // Bind mounts read files the step's text does not show: their content keys the cache, as BuildKit does.
  const bindRefs = inst.mounts.map((m, i) => (m.type === 'bind' ? (step.mountFrom?.[i] ?? null) : undefined));
  await withSourceRoots(scope, bindRefs, async (roots) => {
    const bindHashes: (string | null)[] = [];
    for (const [i, m] of inst.mounts.entries()) {
      const root = roots[i];
      bindHashes.push(root ? combinedHash(await selectSources('RUN --mount', root, [m.source ?? '.'])) : null);
    }
    const extra = {
      mounts: inst.mountSpecs,
      bindHashes,
      inlineFiles: inst.inlineFiles,
      network: inst.network ?? null,
      security: inst.security ?? null,
    };
    if (await probe(scope, state, cmd, extra, rc)) return;
    const cid = newStepId();
    state.io.say(` ---> Running in ${shortId(cid)}`);
    const env = [...(rc.Env ?? []), ...step.buildArgs.map((a) => `${a.key}=${a.value}`)];
    const network = inst.network === 'none' ? 'none' : inst.network === 'host' ? 'host' : (opts.network ?? 'default');
    const startedAt = new Date().toISOString();
    await withStepSnapshot(
      scope,
      state,
      async (rootfs, dir, userns) => {
        const mounts = await runMounts(scope, inst, roots, rc.WorkingDir, dir);
        return scope.runner.run({
          id: cid,
          ...(userns ? { userns } : {}),
          rootfs,
          bundleDir: path.join(dir, 'bundle'),
          argv,
          env,
          ...(rc.WorkingDir ? { workdir: rc.WorkingDir } : {}),
          ...(rc.User ? { user: rc.User } : {}),
          network,
          extraHosts: opts.addHosts ?? [],
          ...(opts.runSpec ? { spec: opts.runSpec } : {}),
          ...(opts.cgroupParent ? { cgroupParent: opts.cgroupParent } : {}),
          mounts: userns ? userns.bindMounts(mounts) : mounts,
          stdout: state.io.out,
          stderr: state.io.err,
          signal: state.io.signal,
        });
      },
      {
        container: cid,
        after: async (upper, r) => {
          if (r.exitCode !== 0) {
            // Docker's classic builder keeps the failed step's container unless --force-rm (--rm is for successes).
            await removeMountpoints(upper, r.mountpoints, r.parents);
            if (opts.forceRm || !opts.keepFailedStep || !state.imageId) {
              if (opts.forceRm) state.io.say(`Removing intermediate container ${shortId(cid)}`);
            } else {
              await opts
                .keepFailedStep({
                  id: cid,
                  imageId: state.imageId,
                  argv,
                  env,
                  ...(rc.WorkingDir ? { workdir: rc.WorkingDir } : {}),
                  ...(rc.User ? { user: rc.User } : {}),
                  exitCode: r.exitCode,
                  startedAt,
                  upper,
                })
                .catch((err: unknown) =>
                  state.io.err.write(`could not keep the failed step's container: ${(err as Error).message}\n`),
                );
            }
            throw new BuildStepFailed(
              `The command '${argv.join(' ')}' returned a non-zero code: ${r.exitCode}`,
              r.exitCode,
              state.imageId,
            );
          }
          await removeMountpoints(upper, r.mountpoints, r.parents);
        },
        record: async (layer) => {
          state.io.say(`Removing intermediate container ${shortId(cid)}`);
          await commitStep(scope, state, rc, cmd, layer, extra);
        },
        remap: true,
      },
    );
  });
}

/** The OCI mounts of a RUN: `--mount` cache/bind/tmpfs and the heredoc scripts it runs. */
async function runMounts(
  scope: BuildScope,
  inst: Extract<Instruction, { kind: 'RUN' }>,
  roots: (SourceRoot | undefined)[],
  workdir: string | undefined,
  dir: string,
): Promise<MountRequest[]> {
  const out: MountRequest[] = [];
  const target = (t: string | undefined) => {
    if (!t) throw new WharfError('INVALID_ARGUMENT', 'RUN --mount needs a target');
    return path.posix.resolve('/', workdir || '/', t);
  };
  for (const [i, m] of inst.mounts.entries()) {
    if (m.type === 'cache') {
      const cacheDir = await cacheMountDir(scope.deps.root, m.id ?? target(m.target), m);
      out.push({ type: 'bind', source: cacheDir, destination: target(m.target), readOnly: m.readOnly });
    } else if (m.type === 'tmpfs') {
      out.push({ type: 'tmpfs', destination: target(m.target), ...(m.size !== undefined ? { size: m.size } : {}) });
    } else if (m.type === 'bind') {
      const root = roots[i]!;
      const [src] = await selectSources('RUN --mount', root, [m.source ?? '.']);
      // Read-write bind mounts write to a copy that is thrown away, as in BuildKit.
      let source = src!.abs;
      if (!m.readOnly) {
        source = path.join(dir, `bind-${i}`);
        await fsp.cp(src!.abs, source, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
      }
      out.push({ type: 'bind', source, destination: target(m.target), readOnly: m.readOnly });
    }
  }
  for (const [i, f] of inst.inlineFiles.entries()) {
    const file = path.join(dir, `inline-${i}`);
    await fsp.writeFile(file, f.data, { mode: f.mode });
    out.push({ type: 'bind', source: file, destination: f.path, readOnly: true, recursive: false });
  }
  return out;
}

async function runCopy(
  scope: BuildScope,
  state: StageState,
  step: ResolvedStep,
  inst: Extract<Instruction, { kind: 'COPY' | 'ADD' }>,
): Promise<void> {
  if (inst.sourceContents.length > 0 && inst.sources.length > 0) {
    throw new WharfError('UNSUPPORTED', `${inst.kind} mixing heredoc and file sources is not supported yet`);
  }
  if (inst.kind === 'ADD' && inst.sources.some((s) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s))) {
    throw new WharfError('UNSUPPORTED', 'ADD from a URL is not supported: Wharf builds offline');
  }
  const from: SourceRef | undefined = step.copyFrom;
  const heredocs = inst.sourceContents.length > 0 ? inst.sourceContents : undefined;
  const withRoot = heredocs
    ? (fn: (src: SourceRoot) => Promise<void>) => withHeredocRoot(scope, heredocs, fn)
    : (fn: (src: SourceRoot) => Promise<void>) => withSourceRoot(scope, from, fn);
  await withRoot(async (src) => {
    const sources = await selectSources(inst.kind, src, heredocs ? heredocs.map((h) => h.path) : inst.sources);
    const hash = combinedHash(sources);
    const chown = inst.chown ? `--chown=${inst.chown}` : '';
    const cmd = nopCommandString(state.rc, `${inst.kind} ${chown}${hash} in ${inst.dest} `);
    const chmod = inst.chmod !== undefined ? parseInt(inst.chmod, 8) : undefined;
    const extra = { chmod: inst.chmod ?? null, link: inst.link, exclude: inst.exclude };
    if (await probe(scope, state, cmd, extra, state.rc)) return;
    const dest = destinationPath(inst.dest, state.rc.WorkingDir);
    await withStepSnapshot(
      scope,
      state,
      async (rootfs) => {
        const owner = await resolveChown(inst.chown, rootfs);
        await copyInto(rootfs, src, sources, {
          cmd: inst.kind,
          dest,
          owner,
          ...(chmod !== undefined ? { chmod } : {}),
          unpackArchives: inst.kind === 'ADD',
        });
      },
      { record: (layer) => commitStep(scope, state, structuredClone(state.rc), cmd, layer, extra) },
    );
  });
}
