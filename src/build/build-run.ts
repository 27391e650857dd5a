import { Writable } from 'node:stream';
import { shortId, type Digest } from '../digest/index.js';
import { parseInstructions, type Instruction, type ResolvedStage } from '../dockerfile/index.js';
import { WharfError, is } from '../errors/index.js';
import { ImageService } from '../image/index.js';
import { familiarString } from '../reference/index.js';
import { Semaphore } from '../util/index.js';
import { resolveWithBaseImages, showPull, stageStart, type BaseImages } from './base-images.js';
import type { Builder } from './builder.js';
import { humanContextSize } from './format.js';
import { OrderedOutput } from './ordered-output.js';
import { localPlatform, platformArgs } from './platform.js';
import type { BuildScope, StageIO, StageState } from './scope.js';
import { squashStage } from './squash.js';
import { runStep } from './steps.js';
import type { BuilderDeps, BuildOptions, BuildResult } from './types.js';

const MAX_PARALLEL_STAGES = 4;
/** `FROM scratch` has no image yet: Docker prints nothing for it. */
const shortImageId = (id: Digest | null) => (id ? shortId(id) : '');

/**
 * One `build`: the stage graph. Independent stages run in parallel (at most MAX_PARALLEL_STAGES), a stage waits for
 * the stages it reads, and the output is printed in Dockerfile order with Docker's step numbering.
 */
export class BuildRun {
  private readonly out: Writable;
  private stepNo = 0;
  private total = 0;

  constructor(
    private readonly builder: Pick<Builder, 'cache' | 'digests' | 'intents' | 'runner' | 'sweep'>,
    private readonly deps: BuilderDeps,
    private readonly opts: BuildOptions,
  ) {
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
    const images = this.deps.images;
    const platform = localPlatform();
    if (o.platform && o.platform !== `${platform.os}/${platform.architecture}` && o.platform !== platform.os) {
      throw new WharfError(
        'UNSUPPORTED',
        `--platform ${o.platform} is not supported: Wharf builds for the local platform ${platform.os}/${platform.architecture}`,
      );
    }
    await this.builder.sweep();
    const parsed = parseInstructions(o.dockerfile.text, { file: o.dockerfile.name });
    const { resolved, baseImages } = await resolveWithBaseImages(
      images,
      parsed,
      {
        buildArgs: o.buildArgs ?? {},
        ...(o.target ? { target: o.target } : {}),
        platformArgs: platformArgs(platform),
      },
      { ...(o.pullBase ? { pullBase: o.pullBase } : {}), ...(o.pull ? { pull: true } : {}) },
    );
    for (const w of resolved.unusedBuildArgs.length > 0 ? [resolved.unusedBuildArgs] : []) {
      o.err.write(`[Warning] One or more build-args [${w.join(' ')}] were not consumed\n`);
    }
    const { cache, digests, intents, runner } = this.builder;
    const scope: BuildScope = {
      deps: this.deps,
      opts: o,
      cache,
      digests,
      intents,
      runner,
      platform,
      parsed,
      finished: new Map(),
      hits: 0,
    };

    this.say(`Sending build context to Docker daemon  ${humanContextSize(await o.context.tarSize())}`);
    const labels = Object.entries(o.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.total =
      parsed.metaArgs.length +
      resolved.stages.reduce((n, s) => n + 1 + s.steps.filter((x) => !x.trigger).length, 0) +
      (labels.length > 0 ? 1 : 0);
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
      const io: StageIO = {
        say: (l) => lines.write(`${l}\n`),
        out: streams.out,
        err: streams.err,
        signal: stop.signal,
      };
      running.set(
        stage.index,
        (async () => {
          await Promise.all(deps);
          const release = await limit.acquire();
          try {
            if (stop.signal.aborted) throw new WharfError('CANCELLED', 'the build was interrupted');
            const state = await this.runStage(
              scope,
              stage,
              baseImages,
              stage.index === resolved.target ? labels : [],
              io,
              offset,
            );
            scope.finished.set(stage.index, state);
            return state;
          } finally {
            release();
            output.finish(slot);
          }
        })(),
      );
    });
    const settled = await Promise.allSettled(
      [...running.values()].map((p) =>
        p.catch((err) => {
          stop.abort();
          throw err;
        }),
      ),
    );
    o.signal?.removeEventListener('abort', onAbort);
    output.flushAll();
    const failures = settled
      .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      .map((r) => r.reason as unknown);
    if (failures.length > 0) throw failures.find((e) => !is(e, 'CANCELLED')) ?? failures[0];
    this.stepNo = firstStep;
    const last = scope.finished.get(resolved.target);
    const final = last!;
    if (!final.imageId) throw new WharfError('INVALID_ARGUMENT', 'No image was generated. Is your Dockerfile empty?');
    const id = o.squash ? await squashStage(scope, final) : final.imageId;
    this.say(`Successfully built ${shortId(id)}`);
    const tagged: string[] = [];
    for (const t of o.tags ?? []) {
      images.tag(id, t);
      const name = familiarString(ImageService.tagReference(t));
      tagged.push(name);
      this.say(`Successfully tagged ${name}`);
    }
    return { imageId: id, tags: tagged, steps: this.stepNo, cacheHits: scope.hits };
  }

  private async runStage(
    scope: BuildScope,
    stage: ResolvedStage,
    baseImages: BaseImages,
    labels: [string, string][],
    io: StageIO,
    offset: number,
  ): Promise<StageState> {
    let stepNo = offset;
    io.say(`Step ${++stepNo}/${this.total} : ${stage.from.original}`);
    const state = stageStart(this.deps.images, stage, baseImages, scope.finished, io);
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
      if (step.copyFrom?.kind === 'image') showPull(baseImages, step.copyFrom.ref, io);
      await runStep(scope, state, step);
      if (!step.trigger) io.say(` ---> ${shortImageId(state.imageId)}`);
    }
    if (labels.length > 0) {
      const original = `LABEL ${labels.map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' ')}`;
      const inst: Instruction = {
        kind: 'LABEL',
        original,
        range: stage.range,
        comments: [],
        pairs: labels.map(([key, value]) => ({ key, value })),
        legacyForm: false,
      };
      io.say(`Step ${++stepNo}/${this.total} : ${original}`);
      await runStep(scope, state, { instruction: inst, buildArgs: [], used: [] });
      io.say(` ---> ${shortImageId(state.imageId)}`);
    }
    return state;
  }
}

class DevNull extends Writable {
  override _write(_c: unknown, _e: BufferEncoding, cb: () => void): void {
    cb();
  }
}
