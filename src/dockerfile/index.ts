/**
 * The Dockerfile front end: text → syntax tree (parser) → typed instructions in stages
 * (parse-instructions) → expanded stages with ARG/ENV scoping (resolve). Pure: no I/O, imports
 * only `errors` and util/duration.ts.
 */
export { DockerfileError, type SourceRange, type Warning } from './errors.js';
export { KEYWORDS, type Heredoc, type Node, type ParseResult } from './ast.js';
export { parseDockerfile, parseHeredocWord, type ParseOptions } from './parser.js';
export { parseCheckDirective, type CheckDirective } from './directives.js';
export { dumpNodes } from './dump.js';
export type * from './instructions.js';
export { parseInstruction } from './parse-instructions.js';
export { parseInstructions, typeInstructions, parseOnbuildTriggers, type InstructionsResult } from './stages.js';
export { parseMount } from './mounts.js';
export { parsePortRange, type PortRange } from './validate.js';
export {
  ShellLex,
  processWord,
  processWords,
  type EnvSource,
  type ExpansionResult,
  type LexOptions,
} from './shell-lex.js';
export { expandInstruction, ScopedExpander, type Expansion } from './expand.js';
export {
  resolveStages,
  PROXY_BUILD_ARGS,
  DEFAULT_PATH,
  type ResolveOptions,
  type ResolvedBuild,
  type ResolvedStage,
  type ResolvedStep,
  type SourceRef,
} from './resolve.js';
