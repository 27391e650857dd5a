import { DockerfileError, locate, type SourceRange, type Warning } from './errors.js';
import { expandWith, ScopedExpander } from './expand.js';
import type { ArgInstruction, FromInstruction, Instruction, KeyValue, Stage } from './instructions.js';
import { parseOnbuildTriggers, type InstructionsResult } from './stages.js';

/**
 * Expands a parsed Dockerfile the way `docker build` does, stage by stage, with Docker's ARG
 * scoping:
 * - ARGs before the first FROM form the global scope; only FROM lines (image and --platform) see it.
 * - Inside a stage a variable is visible only after `ARG NAME` re-declares it there; a bare
 *   `ARG NAME` takes the build arg, else the global value.
 * - Build args override ARG defaults; ENV (including the base image's) overrides ARG.
 * - RUN/CMD/ENTRYPOINT text is not expanded: the shell does it with the step's env.
 */

/** Build args Docker accepts without an ARG declaration; they reach RUN's environment only. */
export const PROXY_BUILD_ARGS: readonly string[] = [
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
];

/** Automatic platform ARGs (values supplied by the caller through `platformArgs`). */
const PLATFORM_ARGS: readonly string[] = [
  'BUILDPLATFORM',
  'BUILDOS',
  'BUILDARCH',
  'BUILDVARIANT',
  'TARGETPLATFORM',
  'TARGETOS',
  'TARGETARCH',
  'TARGETVARIANT',
  'TARGETSTAGE',
];

/** PATH a stage gets when its base (scratch) has none, as Docker sets it. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ResolveOptions {
  /** `--build-arg` values. */
  buildArgs?: Readonly<Record<string, string>>;
  /** Stage name to build (`--target`); defaults to the last stage. */
  target?: string;
  /** Values for the automatic platform ARGs (BUILDPLATFORM, TARGETARCH, …). */
  platformArgs?: Readonly<Record<string, string>>;
  /**
   * The `Env` (`KEY=value` list) of a base image, so instructions can expand variables the
   * image defines. Without it, images contribute no variables. Call `resolveStages` once
   * without it to learn which images to pull, then again with it.
   */
  baseImageEnv?: (ref: string, platform: string | undefined) => readonly string[] | undefined;
  /** The `OnBuild` triggers of a base image; they run first in stages built FROM that image. */
  baseImageOnBuild?: (ref: string, platform: string | undefined) => readonly string[] | undefined;
}

/** What a FROM, `COPY --from` or `RUN --mount=from=` points at. */
export type SourceRef = { kind: 'stage'; index: number } | { kind: 'image'; ref: string } | { kind: 'scratch' };

export interface ResolvedStep {
  /** The instruction after expansion (same shape as the typed one). */
  instruction: Instruction;
  /**
   * ARG values in scope at this step that ENV does not override, plus undeclared proxy build
   * args: the builder sets these in RUN's environment (not in the image config).
   */
  buildArgs: KeyValue[];
  /** Variables the expansion read (sorted): part of the step's cache key. */
  used: string[];
  /** For COPY --from: where the files come from. */
  copyFrom?: SourceRef;
  /** For RUN: where each `--mount` with `from=` reads (same order as `mounts`; undefined = context). */
  mountFrom?: (SourceRef | undefined)[];
  /** Set when the step is an ONBUILD trigger inherited from the base image. */
  trigger?: true;
}

export interface ResolvedStage {
  index: number;
  name?: string;
  /** The expanded FROM. */
  from: FromInstruction;
  base: SourceRef;
  platform?: string;
  steps: ResolvedStep[];
  /** Stages this one needs (base, COPY --from, RUN --mount from), by index. */
  deps: number[];
  /** ENV at the end of the stage (base env plus ENV instructions), what a child stage inherits. */
  env: KeyValue[];
  range: SourceRange;
}

export interface ResolvedBuild {
  /** The stages needed for the target, dependencies before dependents. */
  stages: ResolvedStage[];
  /** Index of the target stage. */
  target: number;
  /** The global scope after the ARGs before FROM. */
  globalArgs: Record<string, string>;
  /** Build args no ARG declared (proxy args excepted). */
  unusedBuildArgs: string[];
  warnings: Warning[];
}

class OrderedEnv {
  private readonly m = new Map<string, string>();
  constructor(init: Iterable<readonly [string, string]> = []) {
    for (const [k, v] of init) this.set(k, v);
  }
  set(k: string, v: string): void {
    this.m.delete(k);
    this.m.set(k, v);
  }
  get(k: string): string | undefined {
    return this.m.get(k);
  }
  has(k: string): boolean {
    return this.m.has(k);
  }
  entries(): [string, string][] {
    return [...this.m.entries()];
  }
  toPairs(): KeyValue[] {
    return this.entries().map(([key, value]) => ({ key, value }));
  }
}

function envFromList(list: readonly string[]): [string, string][] {
  return list.map((e) => {
    const i = e.indexOf('=');
    return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)];
  });
}

function findStage(stages: readonly Stage[], name: string): number | undefined {
  const lower = name.toLowerCase();
  const i = stages.findIndex((s) => s.name === lower);
  return i >= 0 ? i : undefined;
}

/** Expands every stage needed for the target. Throws DockerfileError with the line that failed. */
export function resolveStages(parsed: InstructionsResult, opts: ResolveOptions = {}): ResolvedBuild {
  const { file, escape, stages } = parsed;
  const buildArgs = new Map(Object.entries(opts.buildArgs ?? {}));
  const warnings: Warning[] = [...parsed.warnings];
  const declared = new Set<string>();

  // Global scope: platform args, then ARGs before the first FROM in order.
  const global = new OrderedEnv(Object.entries(opts.platformArgs ?? {}));
  for (const meta of parsed.metaArgs) {
    for (const a of meta.args) {
      declared.add(a.key);
      let value: string | undefined;
      if (buildArgs.has(a.key)) value = buildArgs.get(a.key);
      else if (a.value !== undefined)
        value = expandAt(meta, () => new ScopedExpander(new Map(global.entries()), escape).word(a.value!));
      if (value !== undefined) global.set(a.key, value);
    }
  }

  let target = stages.length - 1;
  if (opts.target !== undefined) {
    const t = findStage(stages, opts.target);
    if (t === undefined)
      throw new DockerfileError(`target stage ${JSON.stringify(opts.target)} could not be found`, file, {
        start: 0,
        end: 0,
      });
    target = t;
  }

  const done = new Map<number, ResolvedStage>();
  const order: ResolvedStage[] = [];
  const visiting = new Set<number>();

  function expandAt<T>(inst: { range: SourceRange }, fn: () => T, where: string = file): T {
    try {
      return fn();
    } catch (err) {
      locate(err, where, inst.range);
    }
  }

  function refFor(value: string, self: number, range: SourceRange): SourceRef {
    const byName = findStage(stages, value);
    if (byName !== undefined) return { kind: 'stage', index: byName };
    if (/^\d+$/.test(value)) {
      const n = Number(value);
      if (n >= stages.length)
        throw new DockerfileError(`invalid stage index ${n}: the Dockerfile has ${stages.length} stages`, file, range);
      if (n === self) throw new DockerfileError(`stage ${n} cannot refer to itself`, file, range);
      return { kind: 'stage', index: n };
    }
    if (value.toLowerCase() === 'scratch') return { kind: 'scratch' };
    return { kind: 'image', ref: value };
  }

  // FROM names only earlier stages (never an index); anything else is an image.
  function fromRef(value: string, self: number): SourceRef {
    const byName = findStage(stages, value);
    if (byName !== undefined && byName < self) return { kind: 'stage', index: byName };
    if (value.toLowerCase() === 'scratch') return { kind: 'scratch' };
    return { kind: 'image', ref: value };
  }

  function visit(index: number, from: SourceRange): ResolvedStage {
    const existing = done.get(index);
    if (existing) return existing;
    const stage = stages[index]!;
    if (visiting.has(index)) {
      throw new DockerfileError(`circular dependency detected on stage: ${stage.name ?? index}`, file, from);
    }
    visiting.add(index);

    // FROM sees only the global scope.
    const fx = new ScopedExpander(new Map(global.entries()), escape);
    const fromInst = expandAt(stage.from, () => expandWith(stage.from, fx)) as FromInstruction;
    for (const name of fx.unset) {
      warnings.push({
        rule: 'UndefinedArgInFrom',
        message: `FROM argument '${name}' is not declared`,
        range: stage.from.range,
      });
    }
    const base = fromRef(fromInst.image, index);
    const deps = new Set<number>();
    let env: OrderedEnv;
    if (base.kind === 'stage') {
      deps.add(base.index);
      env = new OrderedEnv(visit(base.index, stage.from.range).env.map((p) => [p.key, p.value] as const));
    } else if (base.kind === 'scratch') {
      env = new OrderedEnv([['PATH', DEFAULT_PATH]]);
    } else {
      env = new OrderedEnv(envFromList(opts.baseImageEnv?.(base.ref, fromInst.platform) ?? []));
    }

    const args = new OrderedEnv();
    const steps: ResolvedStep[] = [];
    const scope = (): Map<string, string> => new Map([...args.entries(), ...env.entries()]); // ENV wins over ARG

    const triggerTexts = base.kind === 'image' ? (opts.baseImageOnBuild?.(base.ref, fromInst.platform) ?? []) : [];
    const triggerFile = `${base.kind === 'image' ? base.ref : ''} ONBUILD`;
    const triggers = parseOnbuildTriggers(triggerTexts, { file: triggerFile });
    const sequence = [
      ...triggers.map((inst) => ({ inst, trigger: true })),
      ...stage.instructions.map((inst) => ({ inst, trigger: false })),
    ];

    for (const { inst, trigger } of sequence) {
      if (inst.kind === 'ARG') {
        const argStep = expandAt(inst, () => resolveArg(inst), trigger ? triggerFile : file);
        if (trigger) argStep.trigger = true;
        steps.push(argStep);
        continue;
      }
      const x = new ScopedExpander(scope(), escape);
      const expanded = expandAt(inst, () => expandWith(inst, x), trigger ? triggerFile : file);
      const step: ResolvedStep = { instruction: expanded, buildArgs: runArgs(), used: [...x.used].sort() };
      if (trigger) step.trigger = true;
      if (expanded.kind === 'ENV') for (const p of expanded.pairs) env.set(p.key, p.value);
      if (expanded.kind === 'COPY' && expanded.from !== undefined) {
        step.copyFrom = refFor(expanded.from, index, inst.range);
        if (step.copyFrom.kind === 'stage') deps.add(step.copyFrom.index);
      }
      if (expanded.kind === 'RUN' && expanded.mounts.some((m) => m.from !== undefined)) {
        step.mountFrom = expanded.mounts.map((m) =>
          m.from === undefined ? undefined : refFor(m.from, index, inst.range),
        );
        for (const r of step.mountFrom) if (r?.kind === 'stage') deps.add(r.index);
      }
      steps.push(step);
    }

    function resolveArg(inst: ArgInstruction): ResolvedStep {
      const used = new Set<string>();
      const out: ArgInstruction = { ...inst, args: [] };
      for (const a of inst.args) {
        declared.add(a.key);
        let value: string | undefined;
        if (buildArgs.has(a.key)) {
          value = buildArgs.get(a.key);
        } else if (a.value !== undefined) {
          const x = new ScopedExpander(scope(), escape);
          value = x.word(a.value);
          for (const n of x.used) used.add(n);
        } else {
          value = global.get(a.key);
        }
        if (value !== undefined) args.set(a.key, value);
        out.args.push(value === undefined ? { key: a.key } : { key: a.key, value });
      }
      return { instruction: out, buildArgs: runArgs(), used: [...used].sort() };
    }

    function runArgs(): KeyValue[] {
      const out: KeyValue[] = [];
      for (const [key, value] of args.entries()) if (!env.has(key)) out.push({ key, value });
      for (const key of PROXY_BUILD_ARGS) {
        const v = buildArgs.get(key);
        if (v !== undefined && !args.has(key) && !env.has(key)) out.push({ key, value: v });
      }
      return out;
    }

    const resolved: ResolvedStage = {
      index,
      from: fromInst,
      base,
      steps,
      deps: [...deps].sort((a, b) => a - b),
      env: env.toPairs(),
      range: stage.range,
    };
    if (stage.name !== undefined) resolved.name = stage.name;
    if (fromInst.platform !== undefined) resolved.platform = fromInst.platform;

    for (const d of resolved.deps) visit(d, stage.range);
    visiting.delete(index);
    done.set(index, resolved);
    order.push(resolved);
    return resolved;
  }

  visit(target, stages[target]!.range);

  const ignored = new Set([...PROXY_BUILD_ARGS, ...PLATFORM_ARGS]);
  const unusedBuildArgs = [...buildArgs.keys()].filter((k) => !declared.has(k) && !ignored.has(k)).sort();
  if (unusedBuildArgs.length > 0) {
    warnings.push({
      rule: 'UnconsumedBuildArgs',
      message: `One or more build-args [${unusedBuildArgs.join(' ')}] were not consumed`,
      range: { start: 0, end: 0 },
    });
  }

  return { stages: order, target, globalArgs: Object.fromEntries(global.entries()), unusedBuildArgs, warnings };
}
