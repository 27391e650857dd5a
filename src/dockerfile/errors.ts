import { WharfError } from '../errors/index.js';

/** 1-based, inclusive line range in the Dockerfile. */
export interface SourceRange {
  start: number;
  end: number;
}

/**
 * A problem that does not stop the build. Rule names follow BuildKit's linter
 * (`MaintainerDeprecated`, `LegacyKeyValueFormat`, `FromAsCasing`…) so users can look them up.
 */
export interface Warning {
  rule: string;
  message: string;
  range: SourceRange;
}

/**
 * A Dockerfile that cannot be parsed, typed or expanded. The message reads like
 * `Dockerfile:7: unknown instruction: RUNN`; `file`, `line` and `range` are kept as data
 * so a caller can point at the source without parsing the message.
 */
const DOCKERFILE_BRAND = Symbol.for('wharf.dockerfile.error');
const PROBLEM_BRAND = Symbol.for('wharf.dockerfile.problem');

export class DockerfileError extends WharfError {
  readonly [DOCKERFILE_BRAND] = true;
  readonly file: string;
  readonly line: number;
  readonly range: SourceRange;
  /** The message without the `file:line: ` prefix. */
  readonly reason: string;

  constructor(reason: string, file: string, range: SourceRange) {
    const where = range.start > 0 ? `${file}:${range.start}` : file;
    super('INVALID_ARGUMENT', `${where}: ${reason}`, {
      details: { file, line: range.start, endLine: range.end },
    });
    this.name = 'DockerfileError';
    this.file = file;
    this.line = range.start;
    this.range = range;
    this.reason = reason;
  }

  // WharfError's brand check is inherited and would match every WharfError; narrow it to this class.
  static override [Symbol.hasInstance](x: unknown): boolean {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[DOCKERFILE_BRAND] === true;
  }
}

/**
 * A location-free failure raised deep inside the lexer or a line parser; the caller that
 * knows the node turns it into a DockerfileError. Kept separate so pure helpers
 * (`processWord`, flag parsing) never need to know file names.
 */
export class SyntaxProblem extends WharfError {
  readonly [PROBLEM_BRAND] = true;

  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
    this.name = 'SyntaxProblem';
  }

  static override [Symbol.hasInstance](x: unknown): boolean {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[PROBLEM_BRAND] === true;
  }
}

export function problem(message: string): SyntaxProblem {
  return new SyntaxProblem(message);
}

/** Re-throws `err` located at `range`; DockerfileErrors already carry a location and pass through. */
export function locate(err: unknown, file: string, range: SourceRange): never {
  if (err instanceof DockerfileError) throw err;
  if (err instanceof SyntaxProblem) throw new DockerfileError(err.message, file, range);
  throw err;
}

export const DEFAULT_FILE_NAME = 'Dockerfile';
