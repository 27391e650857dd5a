import type { Writable } from 'node:stream';
import type { Digest } from '../digest/index.js';
import type { InstructionsResult } from '../dockerfile/index.js';
import type { ContainerConfig, ImageConfig } from '../oci/index.js';
import type { Intents } from '../meta/index.js';
import { randomHex } from '../util/index.js';
import type { BuildCache, FileDigestMemo } from './cache.js';
import type { StageMeta } from './metadata.js';
import type { Platform } from './platform.js';
import type { StepRunner } from './run-step.js';
import type { BuilderDeps, BuildOptions } from './types.js';

/** Where one stage prints: stages run in parallel, their output is replayed in Dockerfile order. */
export interface StageIO {
  say(line: string): void;
  out: Writable;
  err: Writable;
  signal: AbortSignal;
}

/** A stage as its steps advance it: the image of the last step, its config and layer chain. */
export interface StageState {
  io: StageIO;
  /** Where the stage started (its FROM), for --squash. */
  start?: { imageId: Digest | null; chain: Digest[]; config: ImageConfig | undefined };
  imageId: Digest | null;
  config: ImageConfig | undefined;
  rc: ContainerConfig;
  chain: Digest[];
  meta: StageMeta;
  /** A step missed the cache: the later steps of the stage are built too. */
  busted: boolean;
}

/** What the parts of one build share: the engine's stores, the options, the builder's cache and step runner. */
export interface BuildScope {
  readonly deps: BuilderDeps;
  readonly opts: BuildOptions;
  readonly cache: BuildCache;
  readonly digests: FileDigestMemo;
  readonly runner: StepRunner;
  /** The root's intent table: each step notes what it mounts and starts (container/build-intent.ts). */
  readonly intents: Intents;
  readonly platform: Platform;
  /** The Dockerfile as written (an ARG step records its written default). */
  readonly parsed: InstructionsResult;
  /** The stages built so far, by index: `FROM <stage>` and `COPY --from` read them. */
  readonly finished: Map<number, StageState>;
  /** Steps taken from the cache so far. */
  hits: number;
}

/** The ID of a step's container, snapshot or scratch directory. */
export const newStepId = (): string => randomHex(32);
