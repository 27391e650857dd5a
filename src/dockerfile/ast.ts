import type { SourceRange, Warning } from './errors.js';

/** Instruction keywords, lower case as the parser stores them. */
export const KEYWORDS = [
  'add',
  'arg',
  'cmd',
  'copy',
  'entrypoint',
  'env',
  'expose',
  'from',
  'healthcheck',
  'label',
  'maintainer',
  'onbuild',
  'run',
  'shell',
  'stopsignal',
  'user',
  'volume',
  'workdir',
] as const;

/** A `<<EOF` body attached to RUN, COPY or ADD. */
export interface Heredoc {
  /** The delimiter word with quotes removed (`EOF` for `<<"EOF"`). */
  name: string;
  /** The file descriptor before `<<` (`3<<EOF`), 0 when absent. */
  fileDescriptor: number;
  /** False when any part of the delimiter was quoted: then `$VAR` in the body stays literal. */
  expand: boolean;
  /** True for `<<-`: leading tabs were removed from every body line. */
  chomp: boolean;
  /** The body, each line ending in a newline (tabs already stripped when `chomp`). */
  content: string;
}

/**
 * One instruction as written: no typing, no variable expansion. `args` has the shape the
 * keyword's line parser gives it (see line-parsers.ts): ENV/LABEL give key, value pairs;
 * HEALTHCHECK gives the type then the command; shell-form RUN/CMD/ENTRYPOINT give one string.
 */
export interface Node {
  /** Lower-case keyword (`run`); unknown keywords are kept so typing can report them. */
  keyword: string;
  /** The keyword as written, for messages and casing lints. */
  rawKeyword: string;
  args: string[];
  /** `--name=value` words before the arguments, quotes and escapes removed. */
  flags: string[];
  /** True when the arguments were a JSON string array (exec form). */
  json: boolean;
  /** True for the deprecated `ENV key value` / `LABEL key value` form. */
  legacyKeyValue: boolean;
  heredocs: Heredoc[];
  /** The logical line: continuations joined, comment lines dropped, heredoc bodies not included. */
  original: string;
  range: SourceRange;
  /** Comment lines directly above the instruction, without the `#`. */
  comments: string[];
  /** For ONBUILD: the instruction it wraps. */
  trigger?: Node;
}

export interface ParseResult {
  /** The file name used in messages. */
  file: string;
  nodes: Node[];
  /** The escape character (`\` unless `# escape=\``). */
  escape: '\\' | '`';
  /** Parser directives found at the top (`syntax`, `escape`, `check`), keys lower case. */
  directives: Record<string, string>;
  warnings: Warning[];
}
