import type { Writable } from 'node:stream';
import type { Intents } from '../meta/index.js';
import type { SpecOptions } from '../runtime/index.js';
import type { Digest } from '../digest/index.js';
import { WharfError } from '../errors/index.js';
import type { ImageService } from '../image/index.js';
import type { MetaDb } from '../meta/index.js';
import type { Snapshotter } from '../snapshot/index.js';
import type { BuildContext } from './context.js';
import type { StepRunner } from './run-step.js';

export interface BuilderDeps {
  /** The Wharf root: RUN --mount=type=cache directories live under it. */
  root: string;
  images: ImageService;
  snapshots: Snapshotter;
  db: MetaDb;
  runRoot: string;
  /** The root's intent table (the engine's); one over `db` without it. */
  intents?: Intents;
  /** Replace how RUN steps execute (tests, another runtime). */
  runner?: StepRunner;
  /** The engine's `userns-remap` (Wharf.usernsRemap): RUN steps run remapped, as containers (step-userns.ts). */
  usernsRemap?: string;
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
  /**
   * The resource and security settings of every RUN step's container (`build --memory, --cpu-…, --ulimit, --shm-size,
   * --security-opt`), already checked and mapped by the caller as a container's (container/ `stepSpecOptions`).
   */
  runSpec?: Partial<SpecOptions>;
  /** `--cgroup-parent`: the steps' cgroups go under it (`<parent>/<id>`), as a container's. */
  cgroupParent?: string;
  /** Merge the target stage's new layers into one (`--squash`). */
  squash?: boolean;
  /** Only the image ID is printed (by the caller); step output is suppressed. */
  quiet?: boolean;
  /** Fixed creation time for every new step (`--timestamp`, SOURCE_DATE_EPOCH); layer mtimes are clamped to it. */
  timestamp?: Date;
  /** `--platform`: only the local one is accepted. */
  platform?: string;
  /**
   * Pulls a FROM (or COPY --from) image into the store, writing the pull's progress to `out` (the CLI passes the
   * `pull` verb's pull, so build/ needs no registry access of its own). Without it, an image that is not in the
   * store is an error, and `pull` is refused.
   */
  pullBase?: (ref: string, out: Writable) => Promise<void>;
  /** `--pull`: pull every base image, even one that is in the store (Docker's classic builder, PullOptionForcePull). */
  pull?: boolean;
  /**
   * Keeps the container of a RUN step that failed, as Docker's classic builder does (`ps -a` shows it, Exited with
   * the step's code). Given by the engine's user (build/ makes no containers); without it the step's changes go.
   */
  keepFailedStep?: (step: FailedStep) => Promise<void>;
  /** `--force-rm`: remove the failed step's container too ("Removing intermediate container"). */
  forceRm?: boolean;
  out: Writable;
  err: Writable;
  signal?: AbortSignal;
}

/** A RUN step that exited non-zero, for `keepFailedStep`. */
export interface FailedStep {
  /** The container ID the build printed (" ---> Running in <id>"). */
  id: string;
  /** The image the step ran on (the previous step's). */
  imageId: Digest;
  argv: string[];
  env: string[];
  workdir?: string;
  user?: string;
  exitCode: number;
  startedAt: string;
  /** The step's writable layer (unmounted): the kept container takes it over (it is moved). */
  upper: string;
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
