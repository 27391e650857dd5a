import type { ParseResult } from './ast.js';
import { parseCheckDirective, type CheckDirective } from './directives.js';
import { DockerfileError, type SourceRange, type Warning } from './errors.js';
import type { ArgInstruction, Instruction, Stage } from './instructions.js';
import { parseInstruction } from './parse-instructions.js';
import { filterWarnings, parseDockerfile, type ParseOptions } from './parser.js';

/** Typed instructions grouped into build stages, with the stage-level lints (BuildKit's). */

export interface InstructionsResult {
  file: string;
  escape: '\\' | '`';
  directives: Record<string, string>;
  /** ARG instructions before the first FROM (the global scope, usable in FROM lines). */
  metaArgs: ArgInstruction[];
  stages: Stage[];
  warnings: Warning[];
  /** `# check=` settings; with `error: true` the builder should fail when `warnings` is not empty. */
  check: CheckDirective;
}

interface Ctx {
  file: string;
  warnings: Warning[];
}

const ONCE_PER_STAGE = new Set(['CMD', 'ENTRYPOINT', 'HEALTHCHECK']);

/** Types a parsed file and groups instructions into stages. */
export function typeInstructions(ast: ParseResult): InstructionsResult {
  const ctx: Ctx = { file: ast.file, warnings: [...ast.warnings] };
  const stages: Stage[] = [];
  const metaArgs: ArgInstruction[] = [];
  const names = new Map<string, number>();

  for (const node of ast.nodes) {
    const inst = parseInstruction(node, ctx);
    if (inst.kind === 'FROM') {
      if (inst.stageName !== undefined) {
        if (names.has(inst.stageName)) {
          throw new DockerfileError(`duplicate stage name ${JSON.stringify(inst.stageName)}`, ast.file, node.range);
        }
        names.set(inst.stageName, stages.length);
      }
      const stage: Stage = {
        index: stages.length,
        baseName: inst.image,
        from: inst,
        instructions: [],
        range: { ...inst.range },
      };
      if (inst.stageName !== undefined) stage.name = inst.stageName;
      if (inst.platform !== undefined) stage.platform = inst.platform;
      stages.push(stage);
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) {
      if (inst.kind === 'ARG') {
        metaArgs.push(inst);
        continue;
      }
      throw new DockerfileError(
        `${node.rawKeyword.toUpperCase()} before the first FROM: no build stage in current context`,
        ast.file,
        node.range,
      );
    }
    stage.instructions.push(inst);
    stage.range = { start: stage.range.start, end: inst.range.end };
  }
  if (stages.length === 0) {
    const last = ast.nodes[ast.nodes.length - 1]!;
    throw new DockerfileError('no FROM instruction: a Dockerfile needs at least one build stage', ast.file, last.range);
  }

  for (const stage of stages) lintStage(stage, ctx);
  const check = parseCheckDirective(ast.directives.check);
  return {
    file: ast.file,
    escape: ast.escape,
    directives: ast.directives,
    metaArgs,
    stages,
    warnings: filterWarnings(ctx.warnings, check),
    check,
  };
}

function lintStage(stage: Stage, ctx: Ctx): void {
  const seen = new Map<string, SourceRange>();
  for (const inst of stage.instructions) {
    if ((inst.kind === 'CMD' || inst.kind === 'ENTRYPOINT') && inst.command.form === 'shell') {
      ctx.warnings.push({
        rule: 'JSONArgsRecommended',
        message: `JSON arguments recommended for ${inst.kind} to prevent unintended behavior related to OS signals`,
        range: inst.range,
      });
    }
    if (ONCE_PER_STAGE.has(inst.kind)) {
      const prev = seen.get(inst.kind);
      if (prev) {
        ctx.warnings.push({
          rule: 'MultipleInstructionsDisallowed',
          message: `Multiple ${inst.kind} instructions should not be used in the same stage because only the last one will be used`,
          range: prev,
        });
      }
      seen.set(inst.kind, inst.range);
    }
  }
}

/**
 * Types the ONBUILD triggers stored in a base image's config (`OnBuild`), so a downstream build
 * can run them right after its FROM. `file` names the source in messages (e.g. `alpine ONBUILD`).
 */
export function parseOnbuildTriggers(expressions: readonly string[], opts: ParseOptions = {}): Instruction[] {
  if (expressions.length === 0) return [];
  const ast = parseDockerfile(expressions.join('\n') + '\n', opts);
  return ast.nodes.map((node) => {
    const inst = parseInstruction(node, { file: ast.file });
    if (inst.kind === 'FROM' || inst.kind === 'ONBUILD' || inst.kind === 'MAINTAINER') {
      throw new DockerfileError(`${inst.kind} isn't allowed as an ONBUILD trigger`, ast.file, node.range);
    }
    return inst;
  });
}

/** Text → typed stages in one call. */
export function parseInstructions(text: string, opts: ParseOptions = {}): InstructionsResult {
  return typeInstructions(parseDockerfile(text, opts));
}
