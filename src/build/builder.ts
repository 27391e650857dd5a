import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { shortId, type Digest } from '../digest/index.js';
import { WharfError, is } from '../errors/index.js';
import type { MetaDb } from '../meta/index.js';
import type { ContainerConfig, ImageConfig } from '../oci/index.js';
import { familiarString } from '../reference/index.js';
import { ImageService, commandArgv, nextWorkdir, type LayerRecord } from '../image/index.js';
import { mountAll, unmount, type Snapshotter } from '../snapshot/index.js';
import { applyLayer, resolveInRoot } from '../archive/index.js';
import { canonicalJson } from '../oci/index.js';
import {
  DEFAULT_PATH,
  parseInstructions,
  resolveStages,
  type Instruction,
  type InstructionsResult,
  type ResolvedBuild,
  type ResolvedStage,
  type ResolvedStep,
  type SourceRef,
} from '../dockerfile/index.js';
import { humanContextSize } from './format.js';
import { BuildCache, FileDigestMemo, cacheKey } from './cache.js';
import type { BuildContext } from './context.js';
import { combinedHash, copyInto, destinationPath, resolveChown, selectSources, type SourceRoot } from './copy.js';
import { childImageConfig } from './image-config.js';
import { applyMetadata, nopCommand, nopCommandString, runRecordedArgv, type StageMeta } from './metadata.js';
import { RuncStepRunner, removeMountpoints, type StepRunner } from './run-step.js';
import { cacheMountDir } from './cache-mounts.js';
import { buildCacheUsage, pruneBuildCache, type BuildCacheUsage } from './prune.js';
import { OrderedOutput } from './ordered-output.js';
import { pidAlive, randomHex, Semaphore } from '../util/index.js';
import type { MountRequest } from '../runtime/index.js';

/**
 * Docker's classic builder over Wharf's stores: every step makes an image whose parent is the previous step's
 * image (so `history` has IDs and a failed build leaves the last good step to debug), file-changing steps commit the
 * overlay upper dir of a writable snapshot as the layer, and a cache keyed on the parent image and the step as
 * recorded skips steps already built.
 */

export interface BuilderDeps {
  /** The Wharf root: RUN --mount=type=cache directories live under it. */
  root: string;
  images: ImageService;
  snapshots: Snapshotter;
  db: MetaDb;
  runRoot: string;
  /** Replace how RUN steps execute (tests, another runtime). */
  runner?: StepRunner;
}

export interface BuildOptions {
  context: BuildContext;
  dockerfile: { text: string; name: string };
  tags?: string[];
  buildArgs?: Record<string, string>;
  target?: string;
  labels?: Record<string, string>;
  noCache?: boolean;
  /** Images whose steps may be reused (in addition to the local cache). */
  cacheFrom?: string[];
  network?: 'default' | 'host' | 'none';
  addHosts?: string[];
  /** Merge the target stage's new layers into one (`--squash`). */
  squash?: boolean;
  /** Only the image ID is printed (by the caller); step output is suppressed. */
  quiet?: boolean;
  /** Fixed creation time for every new step (`--timestamp`, SOURCE_DATE_EPOCH); layer mtimes are clamped to it. */
  timestamp?: Date;
  /** `--platform`: only the local one is accepted. */
  platform?: string;
  out: Writable;
  err: Writable;
  signal?: AbortSignal;
}

export interface BuildResult {
  imageId: Digest;
  tags: string[];
  /** Step images of the target stage, in order (the last is the result). */
  steps: number;
  cacheHits: number;
}

/** A RUN that exited non-zero; `exitCode` is what `docker build` exits with. */
export class BuildStepFailed extends WharfError {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly lastImage: Digest | null,
  ) {
    super('FAILED_PRECONDITION', message, { details: { exitCode, lastImage } });
  }

  // WharfError's Symbol.hasInstance answers true for every WharfError; this one needs its own test.
  static override [Symbol.hasInstance](x: unknown): boolean {
    return x instanceof WharfError && typeof (x as { exitCode?: unknown }).exitCode === 'number';
  }
}

interface StageIO {
  say(line: string): void;
  out: Writable;
  err: Writable;
  signal: AbortSignal;
}

interface StageState {
  io: StageIO;
  /** Where the stage started (its FROM), for --squash. */
  start?: { imageId: Digest | null; chain: Digest[]; config: ImageConfig | undefined };
  imageId: Digest | null;
  config: ImageConfig | undefined;
  rc: ContainerConfig;
  chain: Digest[];
  meta: StageMeta;
  busted: boolean;
}

const MAX_PARALLEL_STAGES = 4;
/** Docker's limit too: deeper images cannot be mounted, so the build refuses them early. */
const MAX_LAYERS = 127;
/** `FROM scratch` has no image yet: Docker prints nothing for it. */
const shortImageId = (id: Digest | null) => (id ? shortId(id) : '');
const newId = () => randomHex(32);
const LOCAL_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

export function localPlatform(): { os: string; architecture: string } {
  return { os: 'linux', architecture: LOCAL_ARCH[process.arch] ?? process.arch };
}

export class Builder {
  readonly cache: BuildCache;
  readonly digests: FileDigestMemo;
  readonly runner: StepRunner;

  constructor(private readonly deps: BuilderDeps) {
    this.cache = new BuildCache(deps.db, (id) => deps.images.records.images.get(id) !== undefined);
    this.digests = new FileDigestMemo(deps.db);
    this.runner = deps.runner ?? new RuncStepRunner(path.join(deps.runRoot, 'runc'));
  }

  async build(opts: BuildOptions): Promise<BuildResult> {
    try {
      return await new BuildRun(this, this.deps, opts).run();
    } finally {
      this.digests.flush();
    }
  }

  /** `builder du`: the build cache (the intermediate images steps left, the RUN --mount=type=cache directories). */
  diskUsage(): Promise<BuildCacheUsage> {
    return buildCacheUsage(this.deps);
  }

  /** `builder prune`: removes the build cache; returns the images deleted and the bytes reclaimed. */
  prune(): Promise<{ deleted: Digest[]; reclaimed: number }> {
    return pruneBuildCache(this.deps);
  }

  /**
   * What builds that died (SIGKILL) left: their RUN containers (killed and deleted), mounts and active snapshots.
   * A build's directories carry its PID in `owner`, so live builds in other processes are left alone.
   */
  async sweep(): Promise<number> {
    let n = 0;
    const buildDir = path.join(this.deps.runRoot, 'build');
    if (this.runner instanceof RuncStepRunner) {
      const runc = this.runner.runc;
      const containers = await runc.list().catch(() => []);
      for (const c of containers) {
        if (!c.bundle.startsWith(`${buildDir}/`)) continue;
        const owner = Number(await fsp.readFile(path.join(path.dirname(c.bundle), 'owner'), 'utf8').catch(() => '0'));
        if (owner > 0 && pidAlive(owner)) continue;
        await runc.kill(c.id, 'SIGKILL', { all: true }).catch(() => {});
        await runc.delete(c.id, { force: true }).catch(() => {});
      }
    }
    for await (const info of this.deps.snapshots.walk()) {
      if (info.kind === 'committed' || info.labels['wharf.build'] === undefined) continue;
      const pid = Number(info.labels['wharf.pid']);
      if (pid > 0 && pidAlive(pid)) continue;
      const dir = info.labels['wharf.build.mount'];
      if (dir) await unmount(dir, { lazy: true }).catch(() => {});
      await this.deps.snapshots.remove(info.key).catch(() => {});
      if (dir) await fsp.rm(path.dirname(dir), { recursive: true, force: true }).catch(() => {});
      n++;
    }
    return n;
  }
}

class BuildRun {
  private readonly images: ImageService;
  private readonly out: Writable;
  private stepNo = 0;
  private total = 0;
  private hits = 0;
  private readonly finished = new Map<number, StageState>();
  private readonly platform = localPlatform();
  private parsed: InstructionsResult | undefined;

  constructor(
    private readonly builder: Builder,
    private readonly deps: BuilderDeps,
    private readonly opts: BuildOptions,
  ) {
    this.images = deps.images;
    this.out = opts.quiet ? new DevNull() : opts.out;
  }

  private say(line: string): void {
    this.out.write(`${line}\n`);
  }

  private checkCancelled(signal: AbortSignal | undefined = this.opts.signal): void {
    if (signal?.aborted || this.opts.signal?.aborted) throw new WharfError('CANCELLED', 'the build was interrupted');
  }

  async run(): Promise<BuildResult> {
    const o = this.opts;
    if (o.platform && o.platform !== `${this.platform.os}/${this.platform.architecture}` && o.platform !== this.platform.os) {
      throw new WharfError('UNSUPPORTED', `--platform ${o.platform} is not supported: Wharf builds for the local platform ${this.platform.os}/${this.platform.architecture}`);
    }
    await this.builder.sweep();
    const parsed = parseInstructions(o.dockerfile.text, { file: o.dockerfile.name });
    this.parsed = parsed;
    const platformArgs = this.platformArgs();
    // First pass: which images the stages start from; second pass with their Env and ONBUILD triggers.
    const first = resolveStages(parsed, { buildArgs: o.buildArgs ?? {}, ...(o.target ? { target: o.target } : {}), platformArgs });
    const baseImages = new Map<string, { id: Digest; config: ImageConfig }>();
    for (const ref of imageRefs(first)) {
      const rec = this.images.tryResolve(ref);
      if (!rec) throw new WharfError('NOT_FOUND', `pull access denied for ${ref}: the image is not in the local store (Wharf builds from local images)`);
      baseImages.set(ref, { id: rec.id, config: (await this.images.config(rec.id)).config });
    }
    const resolved = resolveStages(parsed, {
      buildArgs: o.buildArgs ?? {},
      ...(o.target ? { target: o.target } : {}),
      platformArgs,
      baseImageEnv: (ref) => withDefaultPath(baseImages.get(ref)?.config.config?.Env ?? []),
      baseImageOnBuild: (ref) => baseImages.get(ref)?.config.config?.OnBuild ?? [],
    });
    for (const w of resolved.unusedBuildArgs.length > 0 ? [resolved.unusedBuildArgs] : []) {
      o.err.write(`[Warning] One or more build-args [${w.join(' ')}] were not consumed\n`);
    }

    this.say(`Sending build context to Docker daemon  ${humanContextSize(await o.context.tarSize())}`);
    const labels = Object.entries(o.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.total = parsed.metaArgs.length + resolved.stages.reduce((n, s) => n + 1 + s.steps.filter((x) => !x.trigger).length, 0) + (labels.length > 0 ? 1 : 0);
    for (const meta of parsed.metaArgs) this.say(`Step ${++this.stepNo}/${this.total} : ${meta.original}`);

    // Independent stages run in parallel; their output is printed in Dockerfile order.
    const output = new OrderedOutput(this.out, o.quiet ? new DevNull() : o.err, resolved.stages.length);
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const running = new Map<number, Promise<StageState>>();
    let firstStep = this.stepNo;
    const limit = new Semaphore(MAX_PARALLEL_STAGES);
    resolved.stages.forEach((stage, slot) => {
      const offset = firstStep;
      firstStep += 1 + stage.steps.filter((x) => !x.trigger).length;
      const deps = stage.deps.map((d) => running.get(d)!);
      const streams = output.streams(slot);
      const lines = streams.out;
      const io: StageIO = { say: (l) => lines.write(`${l}\n`), out: streams.out, err: streams.err, signal: stop.signal };
      running.set(
        stage.index,
        (async () => {
          await Promise.all(deps);
          const release = await limit.acquire();
          try {
            if (stop.signal.aborted) throw new WharfError('CANCELLED', 'the build was interrupted');
            const state = await this.runStage(stage, baseImages, stage.index === resolved.target ? labels : [], io, offset);
            this.finished.set(stage.index, state);
            return state;
          } finally {
            release();
            output.finish(slot);
          }
        })(),
      );
    });
    const settled = await Promise.allSettled([...running.values()].map((p) => p.catch((err) => {
      stop.abort();
      throw err;
    })));
    o.signal?.removeEventListener('abort', onAbort);
    output.flushAll();
    const failures = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    if (failures.length > 0) throw failures.find((e) => !is(e, 'CANCELLED')) ?? failures[0];
    this.stepNo = firstStep;
    const last = this.finished.get(resolved.target);
    const final = last!;
    if (!final.imageId) throw new WharfError('INVALID_ARGUMENT', 'No image was generated. Is your Dockerfile empty?');
    const id = o.squash ? await this.squash(final) : final.imageId;
    this.say(`Successfully built ${shortId(id)}`);
    const tagged: string[] = [];
    for (const t of o.tags ?? []) {
      this.images.tag(id, t);
      const name = familiarString(ImageService.tagReference(t));
      tagged.push(name);
      this.say(`Successfully tagged ${name}`);
    }
    return { imageId: id, tags: tagged, steps: this.stepNo, cacheHits: this.hits };
  }

  /**
   * `--squash`: the target stage's new layers become one layer on its base, applied in order through an overlay
   * mount (so deletions become whiteouts only where a base file is hidden). History keeps every step, marked
   * empty, plus Docker's `merge <image> to <base>` entry.
   */
  private async squash(final: StageState): Promise<Digest> {
    const start = final.start!;
    const fresh = final.chain.slice(start.chain.length);
    const base: StageState = { ...final, imageId: start.imageId, chain: [...start.chain], config: start.config };
    let layer: LayerRecord | undefined;
    if (fresh.length > 0) {
      ({ layer } = await this.withSnapshot(base, async (rootfs) => {
        for (const c of fresh) await applyLayer(await this.images.layers.tar(c), rootfs, { whiteouts: 'none' });
      }));
    }
    const finalConfig = final.config!;
    const baseHistory = start.config?.history ?? [];
    const history = [
      ...baseHistory,
      ...(finalConfig.history ?? []).slice(baseHistory.length).map((h) => ({ ...h, empty_layer: true })),
      { created: this.created(), comment: start.imageId ? `merge ${final.imageId} to ${start.imageId}` : `create new from ${final.imageId}` },
    ];
    const cfg: Record<string, unknown> = { ...finalConfig };
    cfg.created = this.created();
    cfg.history = history;
    cfg.rootfs = { type: 'layers', diff_ids: [...(start.config?.rootfs.diff_ids ?? []), ...(layer ? [layer.diffId] : [])] };
    const ordered = Object.fromEntries(Object.entries(cfg).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const chain = layer ? [...start.chain, layer.chainId] : [...start.chain];
    const img = await this.images.create({ configRaw: canonicalJson(ordered), chain, parent: start.imageId });
    return img.id;
  }

  private platformArgs(): Record<string, string> {
    const p = `${this.platform.os}/${this.platform.architecture}`;
    return {
      BUILDPLATFORM: p,
      BUILDOS: this.platform.os,
      BUILDARCH: this.platform.architecture,
      TARGETPLATFORM: p,
      TARGETOS: this.platform.os,
      TARGETARCH: this.platform.architecture,
    };
  }

  private async startState(stage: ResolvedStage, baseImages: Map<string, { id: Digest; config: ImageConfig }>, io: StageIO): Promise<StageState> {
    const meta: StageMeta = { cmdSet: false };
    if (stage.base.kind === 'stage') {
      const prev = this.finished.get(stage.base.index)!;
      return { io, imageId: prev.imageId, config: prev.config, rc: structuredClone(prev.rc), chain: [...prev.chain], meta, busted: false };
    }
    if (stage.base.kind === 'scratch') {
      return { io, imageId: null, config: undefined, rc: { Env: [`PATH=${DEFAULT_PATH}`] }, chain: [], meta, busted: false };
    }
    const base = baseImages.get(stage.base.ref)!;
    const rc: ContainerConfig = structuredClone(base.config.config ?? {});
    rc.Env = withDefaultPath(rc.Env ?? []);
    return { io, imageId: base.id, config: base.config, rc, chain: this.images.records.images.chain(base.id), meta, busted: false };
  }

  private async runStage(stage: ResolvedStage, baseImages: Map<string, { id: Digest; config: ImageConfig }>, labels: [string, string][], io: StageIO, offset: number): Promise<StageState> {
    let stepNo = offset;
    io.say(`Step ${++stepNo}/${this.total} : ${stage.from.original}`);
    const state = await this.startState(stage, baseImages, io);
    state.start = { imageId: state.imageId, chain: [...state.chain], config: state.config };
    io.say(` ---> ${shortImageId(state.imageId)}`);
    const triggers = stage.steps.filter((s) => s.trigger);
    if (triggers.length > 0) {
      io.say(`# Executing ${triggers.length} build trigger${triggers.length === 1 ? '' : 's'}`);
      state.rc.OnBuild = null;
    }
    for (const step of stage.steps) {
      this.checkCancelled(io.signal);
      if (!step.trigger) io.say(`Step ${++stepNo}/${this.total} : ${step.instruction.original}`);
      await this.runStep(state, step);
      if (!step.trigger) io.say(` ---> ${shortImageId(state.imageId)}`);
    }
    if (labels.length > 0) {
      const original = `LABEL ${labels.map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' ')}`;
      const inst: Instruction = { kind: 'LABEL', original, range: stage.range, comments: [], pairs: labels.map(([key, value]) => ({ key, value })), legacyForm: false };
      io.say(`Step ${++stepNo}/${this.total} : ${original}`);
      await this.runStep(state, { instruction: inst, buildArgs: [], used: [] });
      io.say(` ---> ${shortImageId(state.imageId)}`);
    }
    return state;
  }

  private async runStep(state: StageState, step: ResolvedStep): Promise<void> {
    const inst = step.instruction;
    switch (inst.kind) {
      case 'RUN':
        return this.runRun(state, step, inst);
      case 'COPY':
      case 'ADD':
        return this.runCopy(state, step, inst);
      case 'WORKDIR':
        return this.runWorkdir(state, inst.path);
      case 'FROM':
        throw new WharfError('INTERNAL', 'FROM inside a stage');
      default: {
        const rc = structuredClone(state.rc);
        const meta = { ...state.meta };
        const comment = applyMetadata(rc, inst.kind === 'ARG' ? this.argAsWritten(inst) : inst, meta);
        if (comment === undefined) throw new WharfError('UNSUPPORTED', `${inst.kind} is not supported by the builder`);
        const cmd = nopCommand(rc, comment);
        if (await this.probe(state, cmd, {}, rc)) {
          state.meta = meta;
          return;
        }
        const cid = newId();
        state.io.say(` ---> Running in ${shortId(cid)}`);
        state.meta = meta;
        await this.commit(state, rc, cmd, undefined, {});
        state.io.say(`Removing intermediate container ${shortId(cid)}`);
      }
    }
  }

  /**
   * Docker records an ARG with its Dockerfile default, not the --build-arg value, so that the step (and its cache)
   * does not depend on the value: RUN steps record the values they see instead.
   */
  private argAsWritten(inst: Extract<Instruction, { kind: 'ARG' }>): Instruction {
    const given = this.opts.buildArgs ?? {};
    if (!inst.args.some((a) => a.key in given)) return inst;
    const written = this.parsed?.stages.flatMap((s) => s.instructions).find((i) => i.kind === 'ARG' && i.range.start === inst.range.start && i.original === inst.original);
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

  /** A cache hit moves the stage to the cached image and returns true. */
  private async probe(state: StageState, cmd: readonly string[], extra: Record<string, unknown>, rc?: ContainerConfig): Promise<boolean> {
    if (this.opts.noCache || state.busted) return false;
    const key = cacheKey({ parent: state.imageId, createdBy: cmd.join(' '), extra: { ...extra, author: state.meta.maintainer ?? '' } });
    let hit = this.builder.cache.lookup(key);
    // With --cache-from, Docker trusts a local hit only when it is an ancestor of one of those images.
    if (hit && this.opts.cacheFrom?.length && !this.isAncestorOfCacheFrom(hit)) hit = undefined;
    if (!hit) {
      hit = await this.probeCacheFrom(state, cmd, rc);
      if (hit) this.builder.cache.record(key, hit, state.imageId, cmd.join(' '));
    }
    if (!hit) {
      state.busted = true;
      return false;
    }
    state.io.say(' ---> Using cache');
    this.hits++;
    const { config } = await this.images.config(hit);
    state.imageId = hit;
    state.config = config;
    state.rc = structuredClone(config.config ?? {});
    state.chain = this.images.records.images.chain(hit);
    return true;
  }

  private isAncestorOfCacheFrom(id: Digest): boolean {
    for (const ref of this.opts.cacheFrom ?? []) {
      const rec = this.images.tryResolve(ref);
      for (let cur: Digest | null = rec?.id ?? null, n = 0; cur && n < 10_000; cur = this.images.records.images.get(cur)?.parent ?? null, n++) {
        if (cur === id) return true;
      }
    }
    return false;
  }

  /**
   * `--cache-from` (Docker's classic rule): a candidate image whose history and layers start with the current
   * image's and whose next history entry is this exact step lends that step: a new image is made from the current
   * one plus that entry and its layer (which the candidate's chain already holds locally).
   */
  private async probeCacheFrom(state: StageState, cmd: readonly string[], rc: ContainerConfig | undefined): Promise<Digest | undefined> {
    if (!this.opts.cacheFrom?.length || !rc) return undefined;
    const createdBy = cmd.join(' ');
    const parentHistory = state.config?.history ?? [];
    const parentDiffs = state.config?.rootfs.diff_ids ?? [];
    for (const ref of this.opts.cacheFrom) {
      const rec = this.images.tryResolve(ref);
      if (!rec) continue;
      const { config: cand } = await this.images.config(rec.id);
      const h = cand.history ?? [];
      if (h.length <= parentHistory.length) continue;
      const sameHistory = parentHistory.every((p, i) => p.created_by === h[i]?.created_by && (p.empty_layer ?? false) === (h[i]?.empty_layer ?? false));
      const sameLayers = parentDiffs.every((d, i) => cand.rootfs.diff_ids[i] === d);
      const next = h[parentHistory.length]!;
      if (!sameHistory || !sameLayers || next.created_by !== createdBy) continue;
      let layer: LayerRecord | undefined;
      if (!next.empty_layer) {
        const candChain = this.images.records.images.chain(rec.id);
        const chainId = candChain[parentDiffs.length];
        layer = chainId ? this.images.layers.get(chainId) : undefined;
        if (!layer) continue;
      }
      const { raw } = childImageConfig({
        parent: state.config,
        parentId: state.imageId,
        rc,
        cmd,
        ...(layer ? { diffId: layer.diffId } : {}),
        created: next.created ?? this.created(),
        ...(next.author ? { author: next.author } : {}),
        architecture: cand.architecture,
        os: cand.os,
      });
      const chain = layer ? [...state.chain, layer.chainId] : state.chain;
      return (await this.images.create({ configRaw: raw, chain, parent: state.imageId })).id;
    }
    return undefined;
  }

  private created(): string {
    return (this.opts.timestamp ?? new Date()).toISOString().replace(/\.000Z$/, 'Z');
  }

  private async commit(state: StageState, rc: ContainerConfig, cmd: readonly string[], layer: LayerRecord | undefined, extra: Record<string, unknown>): Promise<void> {
    const { raw, config } = childImageConfig({
      parent: state.config,
      parentId: state.imageId,
      rc,
      cmd,
      ...(layer ? { diffId: layer.diffId } : {}),
      created: this.created(),
      ...(state.meta.maintainer ? { author: state.meta.maintainer } : {}),
      architecture: state.config?.architecture ?? this.platform.architecture,
      os: state.config?.os ?? this.platform.os,
      ...(state.config?.variant ? { variant: state.config.variant } : {}),
    });
    const chain = layer ? [...state.chain, layer.chainId] : state.chain;
    if (chain.length > MAX_LAYERS) {
      throw new WharfError('FAILED_PRECONDITION', `max depth exceeded: this step would make layer ${chain.length}, and overlay mounts at most ${MAX_LAYERS}; merge RUN steps or use --squash`);
    }
    const key = cacheKey({ parent: state.imageId, createdBy: cmd.join(' '), extra: { ...extra, author: state.meta.maintainer ?? '' } });
    const img = await this.images.create({ configRaw: raw, chain, parent: state.imageId });
    this.builder.cache.record(key, img.id, state.imageId, cmd.join(' '));
    state.imageId = img.id;
    state.config = config;
    state.rc = rc;
    state.chain = chain;
  }

  /**
   * A writable snapshot on the stage's top layer, mounted for `fn`; afterwards its upper dir becomes the layer
   * (undefined when the step changed nothing). The snapshot is removed on any failure.
   */
  private async withSnapshot<T>(state: StageState, fn: (rootfs: string, workDir: string) => Promise<T>, after?: (upper: string, r: T) => Promise<void>): Promise<{ layer: LayerRecord | undefined; result: T }> {
    const id = newId();
    const dir = path.join(this.deps.runRoot, 'build', id.slice(0, 16));
    const rootfs = path.join(dir, 'rootfs');
    await fsp.mkdir(rootfs, { recursive: true });
    await fsp.writeFile(path.join(dir, 'owner'), String(process.pid));
    const key = `build-${id}`;
    const parent = state.chain[state.chain.length - 1];
    const snaps = this.deps.snapshots;
    let committed = false;
    try {
      const mounts = await snaps.prepare(key, parent, { labels: { 'wharf.pid': String(process.pid), 'wharf.build': '1', 'wharf.build.mount': rootfs } });
      let result: T;
      await mountAll(mounts, rootfs);
      try {
        result = await fn(rootfs, dir);
      } finally {
        await unmount(rootfs, { lazy: this.opts.signal?.aborted ?? false });
      }
      const upper = snaps.differ.diffDir(key);
      if (after) await after(upper, result);
      if ((await fsp.readdir(upper)).length === 0) return { layer: undefined, result };
      const tarOpts = this.opts.timestamp ? { clampMtime: this.opts.timestamp } : {};
      const layer = await this.images.layers.commitSnapshot(key, parent ?? null, tarOpts);
      committed = true;
      return { layer, result };
    } finally {
      if (!committed) await snaps.remove(key).catch(() => {});
      await fsp.rm(dir, { recursive: true, force: true }).catch(() => {});
    }
  }

  private async runWorkdir(state: StageState, requested: string): Promise<void> {
    const rc = structuredClone(state.rc);
    rc.WorkingDir = nextWorkdir(rc.WorkingDir, requested);
    const cmd = nopCommandString(rc, `WORKDIR ${rc.WorkingDir}`);
    if (await this.probe(state, cmd, {}, rc)) return;
    const cid = newId();
    state.io.say(` ---> Running in ${shortId(cid)}`);
    const { layer } = await this.withSnapshot(state, async (rootfs) => {
      const abs = await resolveInRoot(rootfs, rc.WorkingDir!);
      await fsp.mkdir(abs, { recursive: true, mode: 0o755 });
    });
    await this.commit(state, rc, cmd, layer, {});
    state.io.say(`Removing intermediate container ${shortId(cid)}`);
  }

  private async runRun(state: StageState, step: ResolvedStep, inst: Extract<Instruction, { kind: 'RUN' }>): Promise<void> {
    const rc = state.rc;
    const argv = commandArgv(rc, inst.command);
    const cmd = runRecordedArgv(argv, step.buildArgs);
    for (const m of inst.mounts) {
      if (m.type === 'secret' || m.type === 'ssh') throw new WharfError('UNSUPPORTED', `RUN --mount=type=${m.type} is not supported yet`);
      if (m.type === 'cache' && m.from !== undefined) throw new WharfError('UNSUPPORTED', 'RUN --mount=type=cache,from=… is not supported yet');
    }
    // Bind mounts read files the step's text does not show: their content keys the cache, as BuildKit does.
    const bindRefs = inst.mounts.map((m, i) => (m.type === 'bind' ? (step.mountFrom?.[i] ?? null) : undefined));
    await this.withSourceRoots(bindRefs, async (roots) => {
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
      if (await this.probe(state, cmd, extra, rc)) return;
      const cid = newId();
      state.io.say(` ---> Running in ${shortId(cid)}`);
      const env = [...(rc.Env ?? []), ...step.buildArgs.map((a) => `${a.key}=${a.value}`)];
      const network = inst.network === 'none' ? 'none' : inst.network === 'host' ? 'host' : (this.opts.network ?? 'default');
      const { layer } = await this.withSnapshot(
        state,
        async (rootfs, dir) => {
          const mounts = await this.runMounts(inst, roots, rc.WorkingDir, dir);
          return this.builder.runner.run({
            id: cid,
            rootfs,
            bundleDir: path.join(dir, 'bundle'),
            argv,
            env,
            ...(rc.WorkingDir ? { workdir: rc.WorkingDir } : {}),
            ...(rc.User ? { user: rc.User } : {}),
            network,
            extraHosts: this.opts.addHosts ?? [],
            mounts,
            stdout: state.io.out,
            stderr: state.io.err,
            signal: state.io.signal,
          });
        },
        async (upper, r) => {
          if (r.exitCode !== 0) {
            throw new BuildStepFailed(`The command '${argv.join(' ')}' returned a non-zero code: ${r.exitCode}`, r.exitCode, state.imageId);
          }
          await removeMountpoints(upper, r.mountpoints, r.parents);
        },
      );
      state.io.say(`Removing intermediate container ${shortId(cid)}`);
      await this.commit(state, rc, cmd, layer, extra);
    });
  }

  /** The OCI mounts of a RUN: `--mount` cache/bind/tmpfs and the heredoc scripts it runs. */
  private async runMounts(inst: Extract<Instruction, { kind: 'RUN' }>, roots: (SourceRoot | undefined)[], workdir: string | undefined, dir: string): Promise<MountRequest[]> {
    const out: MountRequest[] = [];
    const target = (t: string | undefined) => {
      if (!t) throw new WharfError('INVALID_ARGUMENT', 'RUN --mount needs a target');
      return path.posix.resolve('/', workdir || '/', t);
    };
    for (const [i, m] of inst.mounts.entries()) {
      if (m.type === 'cache') {
        const cacheDir = await cacheMountDir(this.deps.root, m.id ?? target(m.target), m);
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

  /** Several source roots at once (undefined entries stay undefined; null is the context). */
  private async withSourceRoots(refs: (SourceRef | null | undefined)[], fn: (roots: (SourceRoot | undefined)[]) => Promise<void>, acc: (SourceRoot | undefined)[] = []): Promise<void> {
    if (acc.length === refs.length) return fn(acc);
    const ref = refs[acc.length];
    if (ref === undefined) return this.withSourceRoots(refs, fn, [...acc, undefined]);
    return this.withSourceRoot(ref ?? undefined, (root) => this.withSourceRoots(refs, fn, [...acc, root]));
  }

  private async runCopy(state: StageState, step: ResolvedStep, inst: Extract<Instruction, { kind: 'COPY' | 'ADD' }>): Promise<void> {
    if (inst.sourceContents.length > 0 && inst.sources.length > 0) {
      throw new WharfError('UNSUPPORTED', `${inst.kind} mixing heredoc and file sources is not supported yet`);
    }
    if (inst.kind === 'ADD' && inst.sources.some((s) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s))) {
      throw new WharfError('UNSUPPORTED', 'ADD from a URL is not supported: Wharf builds offline');
    }
    const from = step.copyFrom;
    const heredocs = inst.sourceContents.length > 0 ? inst.sourceContents : undefined;
    const withRoot = heredocs ? (fn: (src: SourceRoot) => Promise<void>) => this.withHeredocRoot(heredocs, fn) : (fn: (src: SourceRoot) => Promise<void>) => this.withSourceRoot(from, fn);
    await withRoot(async (src) => {
      const sources = await selectSources(inst.kind, src, heredocs ? heredocs.map((h) => h.path) : inst.sources);
      const hash = combinedHash(sources);
      const chown = inst.chown ? `--chown=${inst.chown}` : '';
      const cmd = nopCommandString(state.rc, `${inst.kind} ${chown}${hash} in ${inst.dest} `);
      const chmod = inst.chmod !== undefined ? parseInt(inst.chmod, 8) : undefined;
      const extra = { chmod: inst.chmod ?? null, link: inst.link, exclude: inst.exclude };
      if (await this.probe(state, cmd, extra, state.rc)) return;
      const dest = destinationPath(inst.dest, state.rc.WorkingDir);
      const { layer } = await this.withSnapshot(state, async (rootfs) => {
        const owner = await resolveChown(inst.chown, rootfs);
        await copyInto(rootfs, src, sources, { cmd: inst.kind, dest, owner, ...(chmod !== undefined ? { chmod } : {}), unpackArchives: inst.kind === 'ADD' });
      });
      await this.commit(state, structuredClone(state.rc), cmd, layer, extra);
    });
  }

  /** `COPY <<EOF /dest`: each heredoc becomes a file (mode 0644) in a temp dir that serves as the source. */
  private async withHeredocRoot(docs: ReadonlyArray<{ path: string; data: string }>, fn: (src: SourceRoot) => Promise<void>): Promise<void> {
    const dir = path.join(this.deps.runRoot, 'build', `heredoc-${newId().slice(0, 16)}`);
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
  private async withSourceRoot(from: SourceRef | undefined, fn: (src: SourceRoot) => Promise<void>): Promise<void> {
    if (!from) {
      const ctx = this.opts.context;
      return fn({ root: ctx.root, kind: 'context', include: (rel, isDir) => ctx.includedForWalk(rel, isDir), hidden: (rel) => ctx.excluded(rel), digests: this.builder.digests });
    }
    let chain: Digest[] = [];
    if (from.kind === 'stage') chain = this.finished.get(from.index)?.chain ?? [];
    else if (from.kind === 'image') {
      const rec = this.images.tryResolve(from.ref);
      if (!rec) throw new WharfError('NOT_FOUND', `COPY --from: image ${from.ref} is not in the local store`);
      chain = this.images.records.images.chain(rec.id);
    }
    const id = newId();
    const dir = path.join(this.deps.runRoot, 'build', `src-${id.slice(0, 16)}`);
    const rootfs = path.join(dir, 'rootfs');
    await fsp.mkdir(rootfs, { recursive: true });
    const key = `build-view-${id}`;
    const top = chain[chain.length - 1];
    try {
      if (top) {
        await mountAll(await this.deps.snapshots.view(key, top, { labels: { 'wharf.pid': String(process.pid), 'wharf.build': '1', 'wharf.build.mount': rootfs } }), rootfs);
      }
      try {
        await fn({ root: rootfs, kind: 'stage', include: () => true, hidden: () => false });
      } finally {
        if (top) await unmount(rootfs);
      }
    } finally {
      if (top) await this.deps.snapshots.remove(key).catch((err) => (is(err, 'NOT_FOUND') ? undefined : Promise.reject(err)));
      await fsp.rm(dir, { recursive: true, force: true }).catch(() => {});
    }
  }
}

function withDefaultPath(env: readonly string[]): string[] {
  return env.some((e) => e.startsWith('PATH=')) ? [...env] : [...env, `PATH=${DEFAULT_PATH}`];
}

function imageRefs(b: ResolvedBuild): Set<string> {
  const refs = new Set<string>();
  for (const s of b.stages) {
    if (s.base.kind === 'image') refs.add(s.base.ref);
    for (const st of s.steps) if (st.copyFrom?.kind === 'image') refs.add(st.copyFrom.ref);
  }
  return refs;
}

class DevNull extends Writable {
  override _write(_c: unknown, _e: BufferEncoding, cb: () => void): void {
    cb();
  }
}
